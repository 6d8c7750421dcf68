"""How often would the correct init solution fail the statistical checks of its grading?

Runs the decision functions of the init tests on the reference solution's output for many
seeds, in this process (no sandbox: the decisions are plain functions of arrays):

- every hidden distribution case (`distribution_failures`: KS, mean, variance), one fresh
  seed per run, plus the public standard-deviation sanity checks;
- every random hidden activation_stats case (`activation_curve_failures`), comparing the
  reference at seed s with the reference at seed s + 1 -- a correct student who draws in
  another order is as far off as an independent run -- and the public He + ReLU check.

It prints the failures per case and in total, and the largest fraction of its tolerance that
any activation comparison used (the margin). With --power it also checks that the
distribution checks catch the usual mistakes (variance x2 or /3) on every seed.

    python scripts/init_false_failure_rate.py                 # 1,000 seeds: ~30 min on 2 cores
    python scripts/init_false_failure_rate.py --seeds 100 --activation-seeds 50
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HIDDEN = _load("init_hidden_tests", ROOT / "solutions/init/tests/test_init_hidden.py")
PUBLIC = _load("init_public_tests", ROOT / "assignments/init/tests/test_init_public.py")
REFERENCE = _load("init_reference", ROOT / "solutions/init/init.py")

BASE_SEED = 1_000_000  # far from the seeds the tolerances were measured on (1,000-4,000)


def _distribution_cases():
    """(name, callable(seed) -> weights, distribution, variance) for every hidden case."""
    cases = []
    for param in HIDDEN.DISTRIBUTION_CASES:
        func, shape, kwargs, distribution, variance, _how = param.values
        cases.append((f"hidden {param.id}", func, shape, kwargs, distribution, variance))
    return cases


def _distribution_chunk(seeds: list[int], power: bool) -> dict:
    failures, power_misses = {}, {}
    for name, func, shape, kwargs, distribution, variance in _distribution_cases():
        failures[name] = 0
        power_misses[name] = 0
        for seed in seeds:
            w = getattr(REFERENCE, func)(shape, seed, **kwargs)
            failures[name] += bool(HIDDEN.distribution_failures(w, distribution, variance))
            if power:
                # He vs Xavier-in (x2) and a uniform bound of sqrt(Var) (/3) must always be caught.
                for factor in (2.0, 1.0 / 3.0):
                    power_misses[name] += not HIDDEN.distribution_failures(w * math.sqrt(factor), distribution,
                                                                           variance)
    for name, func, shape in [("public xavier std sanity", "xavier_init", (200, 100)),
                              ("public he std sanity", "he_init", (64, 16, 3, 3))]:
        expected = math.sqrt(2 / 300) if func == "xavier_init" else math.sqrt(2 / 144)
        failures[name] = 0
        for seed in seeds:
            try:
                PUBLIC._check_std(getattr(REFERENCE, func)(shape, seed), func, shape, expected, "")
            except AssertionError:
                failures[name] += 1
    return {"failures": failures, "power_misses": power_misses}


def _activation_cases():
    """(name, init, activation, kwargs, tolerances) for every random hidden activation case."""
    cases = []
    for param in HIDDEN.ACTIVATION_CASES:
        init, activation = param.values
        if init != "zeros":
            cases.append((f"hidden {param.id}", init, activation, dict(HIDDEN.LECTURE_SIZE), {}))
    cases.append(("hidden small he-tanh", "he", "tanh", dict(HIDDEN.SMALL_CASE),
                  {"log_std_tol": HIDDEN.SMALL_LOG_STD_TOL, "mean_over_std_tol": HIDDEN.SMALL_MEAN_OVER_STD_TOL}))
    return cases


def _used_fraction(activation, got, ref, tolerances) -> float:
    """Largest |difference| / tolerance over the layers (1.0 = at the limit), as the checks measure it."""
    (means, stds), (ref_means, ref_stds) = got, ref
    layers = np.arange(1, len(stds) + 1)
    offset, slope = tolerances.get("log_std_tol", HIDDEN.LOG_STD_TOL[activation])
    used = np.abs(np.log(stds / ref_stds)) / (offset + slope * layers)
    if activation == "relu":
        mean_used = np.abs(np.log(means / ref_means)) / (HIDDEN.LOG_MEAN_TOL_PER_LAYER_RELU * layers)
    else:
        mean_used = np.abs(means - ref_means) / (tolerances.get("mean_over_std_tol", HIDDEN.MEAN_OVER_STD_TOL)
                                                 * ref_stds)
    return float(max(used.max(), mean_used.max()))


def _activation_chunk(case_index: int, seeds: list[int]) -> dict:
    """Compare the reference at seed s with seed s + 1 for every s in `seeds`."""
    name, init, activation, kwargs, tolerances = _activation_cases()[case_index]
    failures, worst = 0, 0.0
    previous = REFERENCE.activation_stats(init, activation, seeds[0], **kwargs)
    for seed in seeds:
        current = REFERENCE.activation_stats(init, activation, seed + 1, **kwargs)
        failures += bool(HIDDEN.activation_curve_failures(activation, *current, *previous, **tolerances))
        worst = max(worst, _used_fraction(activation, current, previous, tolerances))
        previous = current
    return {"name": name, "failures": failures, "worst": worst, "runs": len(seeds)}


def _public_he_relu_chunk(seeds: list[int]) -> dict:
    failures = sum(bool(PUBLIC.he_relu_failures(
        REFERENCE.activation_stats("he", "relu", s, n_samples=PUBLIC.HE_RELU_SAMPLES)[1])) for s in seeds)
    return {"name": "public he-relu keeps scale", "failures": failures, "worst": float("nan"), "runs": len(seeds)}


def _chunks(seeds: list[int], n: int) -> list[list[int]]:
    size = math.ceil(len(seeds) / n)
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per distribution check (default 1000)")
    parser.add_argument("--activation-seeds", type=int, default=1000,
                        help="seed pairs per activation_stats case (default 1000; 0 skips them)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--power", action="store_true", help="also check that wrong variances are caught")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    total_checks = total_failures = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        seeds = list(range(BASE_SEED, BASE_SEED + args.seeds))
        per_case: dict[str, int] = {}
        misses: dict[str, int] = {}
        for part in pool.map(_distribution_chunk, _chunks(seeds, args.jobs * 4), [args.power] * (args.jobs * 4)):
            for name, count in part["failures"].items():
                per_case[name] = per_case.get(name, 0) + count
            for name, count in part["power_misses"].items():
                misses[name] = misses.get(name, 0) + count
        print(f"Distribution checks, {args.seeds} seeds each (a failure = any of KS, mean, variance):")
        for name, count in per_case.items():
            print(f"  {name:40s} {count:5d} failures")
            total_checks += args.seeds
            total_failures += count
        if args.power:
            print(f"Power: wrong variance (x2, /3) not caught, out of {2 * args.seeds} per case:")
            for name, count in misses.items():
                print(f"  {name:40s} {count:5d} missed")

        if args.activation_seeds:
            act_seeds = list(range(BASE_SEED, BASE_SEED + args.activation_seeds))
            jobs = [(i, chunk) for i in range(len(_activation_cases())) for chunk in _chunks(act_seeds, args.jobs)]
            results = list(pool.map(_activation_chunk, *zip(*jobs)))
            results += list(pool.map(_public_he_relu_chunk, _chunks(act_seeds, args.jobs)))
            merged: dict[str, dict] = {}
            for r in results:
                m = merged.setdefault(r["name"], {"failures": 0, "worst": 0.0, "runs": 0})
                m["failures"] += r["failures"]
                m["runs"] += r["runs"]
                m["worst"] = max(m["worst"], r["worst"]) if not math.isnan(r["worst"]) else m["worst"]
            print(f"activation_stats checks, reference at seed s vs seed s+1, {args.activation_seeds} pairs each:")
            for name, m in merged.items():
                margin = f"largest share of tolerance used {m['worst']:.2f}" if m["worst"] else ""
                print(f"  {name:40s} {m['failures']:5d} failures   {margin}")
                total_checks += m["runs"]
                total_failures += m["failures"]

    print(f"TOTAL: {total_failures} failures in {total_checks} checks of a correct solution "
          f"({time.perf_counter() - started:.0f} s)")
    return 0 if total_failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

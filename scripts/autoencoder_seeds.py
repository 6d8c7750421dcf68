"""Run the autoencoder hidden tests against the reference with many seeds.

Each hidden test function is called directly in this process with the reference module in
place of the student proxy and `rng = numpy.random.default_rng([seed, test index])`, so every
seed is a different grading. Prints the pass rate of every test and of the whole suite, and
the numbers the tests attach: largest principal angle (PCA), denoising gain, per-layer
reconstruction, fine-tuned accuracy and the gain that pretraining buys with few labels.

    python scripts/autoencoder_seeds.py                  # 20 seeds, every test
    python scripts/autoencoder_seeds.py --seeds 300 -k pca,denoising
    python scripts/autoencoder_seeds.py --solution other/autoencoder.py   # another implementation
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import re
import sys
import time
import warnings
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.testing.plugin import Shared  # noqa: E402

HIDDEN_TESTS = ROOT / "solutions" / "autoencoder" / "tests" / "test_autoencoder_hidden.py"
REFERENCE = ROOT / "solutions" / "autoencoder" / "autoencoder.py"
METRICS = {  # attachment title -> short name of the number that starts its text
    "principal angles": "angle (deg)",
    "denoising gain": "denoise ratio",
    "held-out accuracy": "accuracy",
    "pretraining gain": "pretrain gain",
}


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingAttach:
    """Stands in for the `attach` fixture: keeps texts, drops pictures."""

    def __init__(self):
        self.texts: dict[str, str] = {}

    def text(self, title, text):
        self.texts[title] = text

    def png(self, title, data):
        if not data.startswith(b"\x89PNG"):
            raise AssertionError(f"attachment {title!r} is not a PNG")

    def svg(self, title, text):
        pass


def expand(module):
    """(name, function, kwargs) for every test, parametrize marks expanded."""
    cases = []
    for name, func in vars(module).items():
        if not (name.startswith("test_") and callable(func)):
            continue
        variants = [({}, "")]
        for mark in getattr(func, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            argnames = [a.strip() for a in mark.args[0].split(",")] if isinstance(
                mark.args[0], str) else list(mark.args[0])
            expanded = []
            for value in mark.args[1]:
                values, ident = (value.values, value.id) if hasattr(value, "values") else (
                    (value,) if len(argnames) == 1 else tuple(value), None)
                ident = ident or "-".join(map(str, values))
                for kwargs, label in variants:
                    expanded.append(({**kwargs, **dict(zip(argnames, values))},
                                     f"{label}[{ident}]"))
            variants = expanded
        cases.extend((name + label, func, kwargs) for kwargs, label in variants)
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("-k", dest="select", default="",
                        help="only tests whose name contains one of these comma-separated words")
    parser.add_argument("--solution", type=Path, default=REFERENCE,
                        help="implementation to run as the student (default: the reference)")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore", RuntimeWarning)
    reference = load_module("autoencoder_reference", REFERENCE)
    solution = reference if args.solution == REFERENCE else load_module("autoencoder_solution",
                                                                        args.solution)
    tests = load_module("autoencoder_hidden_tests", HIDDEN_TESTS)
    words = [w for w in args.select.split(",") if w] or [""]
    cases = [c for c in expand(tests) if any(w in c[0] for w in words)]
    passed = defaultdict(int)
    failures = defaultdict(list)
    metrics = defaultdict(list)
    suite_passes = 0
    seconds = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        start = time.perf_counter()
        all_passed = True
        # one grading per seed: what tests share (the pretrained stack) is computed once per seed
        shared = Shared(lambda name, seed=seed: np.random.default_rng([seed, zlib.crc32(name.encode())]))
        for index, (name, func, kwargs) in enumerate(cases):
            attach = RecordingAttach()
            fixtures = {"student": solution, "reference": reference, "attach": attach,
                        "rng": np.random.default_rng([seed, index]), "shared": shared}
            wanted = {p: fixtures[p] for p in inspect.signature(func).parameters if p in fixtures}
            try:
                func(**wanted, **kwargs)
                passed[name] += 1
            except Exception as exc:  # noqa: BLE001 - a failed check and an error both count as a failure
                all_passed = False
                failures[name].append(f"seed {seed}: {type(exc).__name__}: {exc}")
            for title, text in attach.texts.items():
                label = METRICS.get(title)
                if label:
                    metrics[f"{label} {name[name.find('['):] if '[' in name else ''}".strip()
                            ].append(float(re.match(r"\s*([-+0-9.eE]+)", text).group(1)))
                if title == "per-layer reconstruction":
                    for layer, value in re.findall(r"layer (\d+):.*relative ([0-9.]+)", text):
                        metrics[f"relative loss layer {layer}"].append(float(value))
        suite_passes += all_passed
        seconds.append(time.perf_counter() - start)
        print(f"seed {seed}: {'all passed' if all_passed else 'FAILED'} "
              f"({seconds[-1]:.1f} s)", flush=True)

    n = args.seeds
    print(f"\nsuite pass rate: {suite_passes}/{n} seeds; time per seed: "
          f"median {np.median(seconds):.1f} s (tests run in-process, no sandbox)")
    for name, _, _ in cases:
        print(f"  {passed[name]:4d}/{n}  {name}")
        for line in failures[name][:3]:
            print(f"          {line}")
    print("\nmeasured (min / mean / max over seeds):")
    for label, values in metrics.items():
        v = np.asarray(values)
        print(f"  {label:46s} {v.min():8.3f} {v.mean():8.3f} {v.max():8.3f}   (n={v.size})")
    return 0 if suite_passes == n else 1


if __name__ == "__main__":
    sys.exit(main())

"""Build the demo's example class in build/examples/ (instructor material, like solutions/).

The conv submissions are stored in examples/ (written as students would). For the other
assignments the examples are made here from the reference solutions with one deliberate
mistake each, so the repository holds no second copy of any reference solution.

    python scripts/make_examples.py [--out build/examples]
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# student -> assignment -> edits (old, new) applied to the reference ([] = the reference as is)
PLAN: dict[str, dict[str, list[tuple[str, str]]]] = {
    "alice": {"pool": [], "arch": [], "init": [], "autoencoder": []},
    "bob": {
        # max-pool gradient spread over the whole window instead of routed to the maximum
        "pool": [("dx[window_entry] += is_first_max * dz", "dx[window_entry] += dz / (size * size)")],
        # parameter counts without the biases
        "arch": [("* (int(f) * int(f) * int(c) + 1)", "* (int(f) * int(f) * int(c))"),
                 ("int(n_out) * (int(n_in) + 1)", "int(n_out) * int(n_in)")],
        # Xavier "in" using fan_out
        "init": [("variance = 1.0 / n_in", "variance = 1.0 / n_out")],
    },
    "carol": {
        "pool": [], "arch": [],
        # uniform bound sqrt(Var) instead of sqrt(3 Var)
        "init": [("bound = np.sqrt(3.0 * variance)", "bound = np.sqrt(variance)")],
        # Gaussian noise instead of masking noise
        "autoencoder": [("    keep = as_generator(rng).random(x.shape) >= level\n"
                         "    return x * xp.asarray(keep, dtype=x.dtype)",
                         "    noise = as_generator(rng).standard_normal(x.shape)\n"
                         "    return x + level * xp.asarray(noise, dtype=x.dtype)")],
    },
}


def build(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "examples", out)
    for student, files in PLAN.items():
        for assignment, edits in files.items():
            text = (ROOT / "solutions" / assignment / f"{assignment}.py").read_text()
            for old, new in edits:
                if old not in text:
                    raise SystemExit(f"make_examples: the reference {assignment}.py changed; edit not found: {old!r}")
                text = text.replace(old, new)
            (out / student / f"{assignment}.py").write_text(f'"""{student}\'s {assignment}.py"""\n' + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "examples")
    args = parser.parse_args()
    build(args.out)
    print(f"example submissions in {args.out}")


if __name__ == "__main__":
    main()

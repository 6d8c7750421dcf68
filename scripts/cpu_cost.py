"""CPU cost of a command counted over every process it starts (sandbox children included).

The command runs in a fresh control group (``bench_grading.measure``: cpuacct in v1, cpu.stat
in v2, both hierarchical, so the sandboxes' own groups below it are counted too); `time` of the
parent alone would miss the children, which the grader kills rather than reaps. Needs root (or a
delegated group); elsewhere the reaped children only, marked "approx.".

    python scripts/cpu_cost.py [--repeat 3] -- grader grade solutions/conv --assignment conv
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_grading import measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    runs = [measure(command) for _ in range(args.repeat)]
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    exact = "" if all(r["exact"] for r in runs) else ", approx."
    print(f"{' '.join(command)}: wall median {statistics.median(walls):.2f} s, "
          f"CPU median {statistics.median(cpus):.2f} s (all processes{exact}; runs: "
          + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in zip(walls, cpus)) + ")")


if __name__ == "__main__":
    main()

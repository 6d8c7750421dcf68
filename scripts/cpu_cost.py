"""CPU cost of a command counted over every process it starts (sandbox children included).

The command runs in a fresh control group (cpuacct in v1, cpu.stat in v2, both hierarchical,
so the sandboxes' own groups below it are counted too); `time` of the parent alone would miss
the children, which the grader kills rather than reaps. Needs root (or a delegated group).

    python scripts/cpu_cost.py [--repeat 3] -- grader grade solutions/conv --assignment conv
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.sandbox import cgroups  # noqa: E402


def measure(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) for one run of `command`."""
    mounts, own = cgroups._mounts(), cgroups._own_paths()
    v1 = next((m for m, kind, opts in mounts if kind == "cgroup" and "cpuacct" in opts), None)
    if v1 is not None:
        group = Path(v1) / own["cpuacct"].lstrip("/") / f"cpu-cost-{os.getpid()}"
        usage = lambda: int((group / "cpuacct.usage").read_text()) / 1e9  # noqa: E731
    else:
        v2 = next(m for m, kind, _ in mounts if kind == "cgroup2")
        group = Path(v2) / own[""].lstrip("/") / f"cpu-cost-{os.getpid()}"
        usage = lambda: int(dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())  # noqa: E731
                            ["usage_usec"]) / 1e6
    group.mkdir()
    try:
        join = lambda: (group / "cgroup.procs").write_text(str(os.getpid()))  # noqa: E731
        started = time.perf_counter()
        subprocess.run(command, preexec_fn=join, stdout=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        return wall, usage()
    finally:  # the grader made its own groups below (dl-grader/...): remove deepest first
        for folder in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            folder.rmdir()
        group.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    runs = [measure(command) for _ in range(args.repeat)]
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    print(f"{' '.join(command)}: wall median {statistics.median(walls):.2f} s, "
          f"CPU median {statistics.median(cpus):.2f} s (all processes; runs: "
          + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs) + ")")


if __name__ == "__main__":
    main()

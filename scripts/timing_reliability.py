"""Timing reliability: grade only the speed tests of an assignment many times in a row.

The reference graded against itself must pass every time; a solution whose vectorised
functions are the naive loops must fail every time. Prints counts and the ratios seen.

    python scripts/timing_reliability.py [--runs 50] [--assignment conv] [--rigged 20]

--rigged N also grades, N times each, the loops with background burners (tests/speed_rigs.py:
processes with and without setsid, threads) that try to slow the reference: each must fail.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.pipeline import GradeOptions, grade_submission  # noqa: E402
from grader.reports.results_json import results_dict  # noqa: E402
from tests.helpers import COURSE, make_submission  # noqa: E402
from tests.speed_rigs import RIGS  # noqa: E402

LOOPS_AS_VECTORISED = {
    "conv": ("\ndef conv2d_forward(x, w, b, stride=1, pad=0):\n"
             "    return conv2d_forward_naive(x, w, b, stride=stride, pad=pad)\n"
             "\ndef conv2d_backward(dz, x, w, b, stride=1, pad=0):\n"
             "    return conv2d_backward_naive(dz, x, w, b, stride=stride, pad=pad)\n"),
    "pool": None,
}


def run(folder: Path, assignment: str, runs: int, seed0: int) -> tuple[int, list[float], float]:
    passed, ratios, started = 0, [], time.perf_counter()
    for k in range(runs):
        data = results_dict(grade_submission(folder, COURSE, [assignment],
                                             GradeOptions(keyword="speed", seed=seed0 + k)))
        speed = [t for t in data["tests"] if "speed" in t["tags"]]
        passed += all(t["status"] == "passed" for t in speed)
        ratios += [float(m) for t in speed for m in re.findall(r"ms, ratio (\d+(?:\.\d+)?)", t["output"])]
    return passed, ratios, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--assignment", default="conv")
    parser.add_argument("--rigged", type=int, default=0, help="runs of each burner rig (conv only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference = make_submission(Path(tmp), args.assignment, name="reference")
        ok, ratios, secs = run(reference, args.assignment, args.runs, 1000)
        print(f"reference vs itself: passed {ok}/{args.runs} runs; ratio median {statistics.median(ratios):.2f}, "
              f"max {max(ratios):.2f}; {secs:.0f} s")
        append = LOOPS_AS_VECTORISED.get(args.assignment)
        if append:
            loops = make_submission(Path(tmp), args.assignment, append=append, name="loops")
            ok, ratios, secs = run(loops, args.assignment, args.runs, 2000)
            shown = f"ratio min {min(ratios):.1f}" if ratios else "stopped early every time (no ratio reached)"
            print(f"loops as vectorised: failed {args.runs - ok}/{args.runs} runs; {shown}; {secs:.0f} s")
        for kind, rig in sorted(RIGS.items()) if args.rigged and args.assignment == "conv" else ():
            rigged = make_submission(Path(tmp), "conv", append=rig, name=f"rig-{kind}")
            ok, ratios, secs = run(rigged, "conv", args.rigged, 3000)
            shown = f"ratio min {min(ratios):.1f}" if ratios else "stopped early every time"
            print(f"loops + burners ({kind}): failed {args.rigged - ok}/{args.rigged} runs; {shown}; {secs:.0f} s")


if __name__ == "__main__":
    main()

"""Does the diagnosis ever name a mistake in a correct solution? Grade the reference solutions
with many grading seeds and run the diagnosis on *every* recorded student call (not only those
of failing tests, as grading does), so each seed puts every catalogue entry's comparison, value
by value and by distribution, to work on correct outputs.

    python scripts/diagnosis_false_alarms.py [--seeds 50] [--assignment conv ...]

Prints, per assignment, the seeds graded, the calls examined, failed tests (should be 0) and
diagnoses (should be 0), and exits 1 if any test failed or any diagnosis fired.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.course import find_course  # noqa: E402
from grader.options import GradeOptions  # noqa: E402
from grader.pipeline import grade_submission  # noqa: E402
from grader.testing import plugin as plugin_module  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--assignment", action="append")
    args = parser.parse_args()
    course = find_course(REPO)
    names = args.assignment or [spec.name for spec in course.assignments]
    examined = {name: 0 for name in names}
    real_record = plugin_module.GradingPlugin._record

    def record_every_call(self, call):   # as if every test had failed
        real_record(self, call)
        if len(self.failed_calls) < plugin_module.CALLS_KEPT:
            self.failed_calls.append(call)
            examined[self.spec.name] += 1

    plugin_module.GradingPlugin._record = record_every_call
    failures, fired = {name: 0 for name in names}, {name: [] for name in names}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        submission = Path(tmp)
        for name in names:
            spec = course.assignment(name)
            shutil.copy(spec.solution_file, submission / spec.filename)
        for seed in range(args.seeds):
            result = grade_submission(submission, course, names, GradeOptions(seed=seed))
            for a in result.assignments:
                failures[a.name] += sum(t.score < t.max_score for t in a.tests)
                fired[a.name] += [f"seed {seed}: {d}" for d in a.diagnoses]
    print(f"{args.seeds} seeds of the references in {time.perf_counter() - started:.0f} s "
          f"(every recorded call diagnosed, not only failing tests')")
    for name in names:
        print(f"  {name:12} calls examined {examined[name]:6d}  failed tests {failures[name]:3d}  "
              f"diagnoses {len(fired[name]):3d}")
        for line in fired[name][:5]:
            print("    " + line)
    return 1 if any(failures.values()) or any(fired.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Grading benchmark: where every CPU-second of a grading goes.

    python scripts/bench_grading.py [--scenarios full,conv,pool,arch,init,autoencoder,again-conv,batch,check-conv]
                                    [--batch 20] [--repeat 1] [--baseline REV ...] [--json bench.json]

Each scenario runs in a fresh process inside its own control group (cpuacct in v1, cpu.stat in
v2; hierarchical, so the sandboxes' groups below it count too), so "CPU" is every process's:
the grader, bubblewrap, the sandboxed children (killed, not reaped: `time` would miss them).
Needs root or a delegated control group; elsewhere it falls back to the grader's own CPU plus
its reaped children (marked "approx.").

- full / <assignment>: `grader grade` of the reference solutions (all five, or one), with the
  reference's results on the hidden inputs already on disk (``solutions/.reference-results.sqlite``,
  filled by a course's first two gradings: the bench primes it with two unmeasured ones);
  full-cold / <assignment>-cold: without them, as a course's first grading. The
  grader process is instrumented from the outside (wrappers around the pipeline's functions,
  nothing in the grader changed) and the CPU is split into: start-up (interpreter and
  imports), sandbox starts (grader side, and the children's CPU until their first reply),
  round trips (grader side: framing, validation, sweeps), the children's calls (student code
  and the child's framing), pytest (collection, hooks, the tests' own work), reference calls
  in the grader, the diagnosis, reports; with counts of sandbox starts and round trips.
- again-<assignment>: a batch worker grading the reference of one assignment six times (reference
  children and test modules kept, reports written as the batch's parent does): the CPU of the
  first student and of each further one.
- batch: `grader batch` of N copies of the conv reference, with --jobs 1 and --jobs 2: CPU per
  student and the speed-up.
- check-<assignment>: `grader check` (public tests only, what a student runs) on the reference,
  as the command runs: the median wall time of 5 runs, the fastest, and the CPU.

--baseline REV (a git revision; repeatable) also runs the full, per-assignment and batch
scenarios with the grader and course of REV (a temporary git worktree, graded by this
Python), interleaved with the current code's runs, and prints CPU and wall before and after
with their ratio: a before/after comparison measured in one run, on one machine, under the same
load, which numbers from different days on a shared machine are not. Its phases are not split
(the instrumentation fits the current code only).

Prints a table and, with --json, writes every number so the next change can be compared.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("conv", "pool", "arch", "init", "autoencoder")
PHASES = ("start-up", "sandbox starts (grader)", "sandbox starts (children)", "round trips (grader)",
          "calls (children)", "collection", "reference calls", "diagnosis", "reports", "pytest and tests (rest)")


# -- the measured process ------------------------------------------------------------------------
def worker(argv: list[str], report: Path) -> None:
    """Run `grader <argv>` in this process with the pipeline's functions wrapped, and write the
    breakdown (grader-side CPU per phase, the children's CPU, counts) to `report`."""
    started = time.process_time()
    sys.path.insert(0, str(REPO))
    import _pytest.main

    import grader.cli
    import grader.commands.grade
    import grader.pipeline
    import grader.sandbox.forked as forked
    import grader.sandbox.proxy as proxy
    import grader.testing.plugin as plugin
    spent = dict.fromkeys(PHASES, 0.0)
    spent["start-up"] = time.process_time() - started
    counts = {"sandbox starts": 0, "reference forks": 0, "round trips": 0}
    peak_child = [0]
    nested = [0.0]   # grader CPU already booked to an inner phase, not to be booked twice

    def timed(phase, function, count=None):
        def wrapper(*args, **kwargs):
            if count:
                counts[count] += 1
            before, inner = time.process_time(), nested[0]
            try:
                return function(*args, **kwargs)
            finally:
                took = time.process_time() - before
                spent[phase] += took - (nested[0] - inner)
                nested[0] = inner + took
        return wrapper

    real_launch, real_ready, real_close = (proxy.SandboxedModule.launch, proxy.SandboxedModule.ready,
                                           proxy.SandboxedModule.close)

    def launch(self, fresh=False):   # a start, without waiting for the child's import
        before = self._launched
        timed("sandbox starts (grader)", real_launch)(self, fresh)
        if self._launched is not None and self._launched is not before:   # a fork: sandbox/forked.py
            counts["reference forks" if isinstance(self._box, forked.ForkBox) else "sandbox starts"] += 1

    def ready(self):   # the wait for a launched (or restarted) child: its CPU until it answered
        if self._launched is None and self._child is not None and self._child.alive:
            return real_ready(self)   # the running child: every round trip passes here
        child = timed("sandbox starts (grader)", real_ready)(self)
        spent["sandbox starts (children)"] += (self.cpu_seconds() or 0.0) - getattr(self, "_bench_cpu", 0.0)
        self._bench_cpu = self.cpu_seconds() or 0.0
        return child

    def close(self):
        box = self._box
        if box is not None and box.group is not None:
            spent["calls (children)"] += (self.cpu_seconds() or 0.0) - getattr(self, "_bench_cpu", 0.0)
            peak_child[0] = max(peak_child[0], box.group.memory_peak())
        real_close(self)

    proxy.SandboxedModule.launch, proxy.SandboxedModule.ready, proxy.SandboxedModule.close = launch, ready, close
    proxy.SandboxedModule.timed_call = timed("round trips (grader)", proxy.SandboxedModule.timed_call, "round trips")
    _pytest.main.Session.perform_collect = timed("collection", _pytest.main.Session.perform_collect)
    grader.pipeline.diagnose = timed("diagnosis", grader.pipeline.diagnose)
    grader.commands.grade.write_reports = timed("reports", grader.commands.grade.write_reports)
    real_reference = plugin.GradingPlugin.reference_module

    def reference_module(self):
        module = real_reference(self)
        if not getattr(module, "_bench_wrapped", False):
            for name, value in list(vars(module).items()):
                own = getattr(getattr(value, "__wrapped__", value), "__module__", "") == module.__name__
                if callable(value) and not name.startswith("_") and own:   # the memo's wrappers too
                    setattr(module, name, timed("reference calls", value))
            module._bench_wrapped = True
        return module

    plugin.GradingPlugin.reference_module = reference_module
    pytest_phase = timed("pytest and tests (rest)", grader.pipeline.run_tests)
    grader.pipeline.run_tests = pytest_phase
    marginal = {}
    if argv[0] == "again":   # a batch worker's second and later students: ["again", N, submission, assignment]
        marginal = grade_again(int(argv[1]), Path(argv[2]), argv[3], spent, counts)
    else:
        try:
            grader.cli.main(argv)
        except SystemExit:
            pass
    own = resource.getrusage(resource.RUSAGE_SELF)
    report.write_text(json.dumps({"phases": spent, "counts": counts, "grader_cpu": time.process_time(), **marginal,
                                  "grader_peak_mib": own.ru_maxrss / 1024, "child_peak_mib": peak_child[0] / 2**20}))
    grader.cli.exit_now(0)   # as the grader command ends


def _own_cpu() -> float:
    """CPU seconds of this process's control group (every process in it), or of this process."""
    found = _own_cpu_group()
    return found[1](found[0]) if found is not None else time.process_time()


def grade_again(times: int, submission: Path, assignment: str, spent: dict, counts: dict) -> dict:
    """Grade `submission` 1 + `times` times as a batch worker does (reference children and test
    modules kept), writing reports as the batch's parent does; the phases and counts are those of
    the repeats, per grading, and so is the CPU of every process."""
    from grader.batch.worker import Job, grade_job
    from grader.course import find_course
    from grader.options import GradeOptions
    from grader.reports import write_reports
    course = find_course(REPO)
    job = Job("s", "s", str(submission), str(course.root), (assignment,), GradeOptions())
    out = submission.parent / f"again-out-{assignment}"
    first = _own_cpu()
    write_reports(grade_job(job).result, out, course.templates)
    first = _own_cpu() - first
    for key in spent:
        if key != "start-up":
            spent[key] = 0.0
    counts.update(dict.fromkeys(counts, 0))
    started = _own_cpu()
    for _ in range(times):
        write_reports(grade_job(job).result, out, course.templates)
    each = (_own_cpu() - started) / times
    for key in spent:
        if key != "start-up":
            spent[key] /= times
    for key in counts:
        counts[key] //= times
    return {"first_cpu": first, "again_cpu": each}


# -- the harness ---------------------------------------------------------------------------------
def _own_cpu_group():
    """(this process's control group with CPU accounting, a function reading a group's CPU
    seconds: cpuacct.usage in v1, cpu.stat in v2), or None without control groups."""
    try:
        from grader.sandbox import cgroups
        mounts, own = cgroups._mounts(), cgroups._own_paths()
    except Exception:  # noqa: BLE001 - no control groups here
        return None
    v1 = next((m for m, kind, opts in mounts if kind == "cgroup" and "cpuacct" in opts), None)
    if v1 is not None:
        return Path(v1) / own["cpuacct"].lstrip("/"), lambda g: int((g / "cpuacct.usage").read_text()) / 1e9
    v2 = next((m for m, kind, _ in mounts if kind == "cgroup2"), None)
    if v2 is None:
        return None
    return Path(v2) / own[""].lstrip("/"), lambda g: int(dict(
        line.split() for line in (g / "cpu.stat").read_text().splitlines())["usage_usec"]) / 1e6


def _cpu_group():
    """(a new control group folder below this process's, a function reading its CPU seconds), or
    None without control groups (then rusage of the reaped children is all there is)."""
    found = _own_cpu_group()
    if found is None:
        return None
    base, usage = found
    group = base / f"bench-{os.getpid()}-{time.monotonic_ns()}"
    return group, lambda: usage(group)


def measure(command: list[str]) -> dict:
    """Run `command`; wall seconds, CPU seconds of every process, and whether that is exact."""
    found = _cpu_group()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if found is not None:
        group, usage = found
        try:
            group.mkdir()
        except OSError:
            found = None
    try:
        join = (lambda: (group / "cgroup.procs").write_text(str(os.getpid()))) if found else None
        subprocess.run(command, preexec_fn=join, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        if found:
            return {"wall": wall, "cpu": usage(), "exact": True}
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return {"wall": wall, "cpu": cpu, "exact": False}
    finally:
        if found:  # wait for stragglers (a pool's workers exiting), then remove the groups, deepest first
            deadline = time.monotonic() + 10
            while any((f / "cgroup.procs").read_text().strip() for f in [group, *group.rglob("*")] if f.is_dir()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"processes are left in {group}")
                time.sleep(0.05)
            for folder in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                folder.rmdir()
            group.rmdir()


class Baseline:
    """The grader and course of an earlier git revision, in a temporary worktree."""

    def __init__(self, revision: str, work: Path):
        self.revision = revision
        self.root = work / f"baseline-{len(list(work.glob('baseline-*')))}"
        done = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(self.root), revision],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench_grading: cannot check out {revision!r}: "
                             f"{(done.stderr.strip().splitlines() or ['git failed'])[-1]}")

    def command(self, argv: list[str]) -> list[str]:
        """`grader <argv>` of this revision (its package first on the path, this Python)."""
        return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(self.root)!r}); import grader.cli; "
                f"grader.cli.main({argv!r})"]

    def close(self) -> None:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(self.root)], capture_output=True)


def reference_submission(folder: Path, assignments) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in assignments:
        shutil.copy(REPO / "solutions" / name / f"{name}.py", folder / f"{name}.py")
    return folder


def grade_scenario(name: str, work: Path) -> dict:
    if name.endswith("-cold"):   # a course's first grading: no reference results on disk yet
        forget_store(REPO)
        name = name.removesuffix("-cold")
    selected = ASSIGNMENTS if name == "full" else (name,)
    submission = reference_submission(work / f"sub-{name}", selected)
    report = work / f"{name}.json"
    argv = ["grade", str(submission), "--out", str(work / f"out-{name}"), "--course", str(REPO), "-q"]
    if name != "full":
        argv += ["--assignment", name]
    total = measure([sys.executable, __file__, "--worker", str(report), "--", *argv])
    detail = json.loads(report.read_text())
    children = total["cpu"] - detail["grader_cpu"]
    booked = sum(detail["phases"].values()) - detail["phases"]["sandbox starts (children)"] - \
        detail["phases"]["calls (children)"]
    detail["phases"]["pytest and tests (rest)"] += detail["grader_cpu"] - booked   # what no wrapper saw
    detail["phases"]["other children (bubblewrap, sweeps)"] = max(
        children - detail["phases"]["sandbox starts (children)"] - detail["phases"]["calls (children)"], 0.0)
    scores = json.loads((work / f"out-{name}" / "results.json").read_text())
    return {**total, **detail, "score": [scores["score"], scores["max_score"]]}


def baseline_scenario(name: str, baseline: Baseline, work: Path, count: int = 0, jobs: int = 1) -> dict:
    """The scenario `name` (full, an assignment, -cold or not, or batch) graded by the baseline revision."""
    if name.endswith("-cold"):
        forget_store(baseline.root)
        name = name.removesuffix("-cold")
    out = work / f"baseline-out-{name}-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    if name == "batch":
        folder = work / f"batch-{count}"
        if not folder.exists():
            for i in range(count):
                reference_submission(folder / f"student{i:03d}", ("conv",))
        argv = ["batch", str(folder), "--out", str(out), "--course", str(baseline.root), "--assignment", "conv",
                "--jobs", str(jobs), "-q"]
    else:
        selected = ASSIGNMENTS if name == "full" else (name,)
        submission = reference_submission(work / f"sub-{name}", selected)
        argv = ["grade", str(submission), "--out", str(out), "--course", str(baseline.root), "-q"]
        if name != "full":
            argv += ["--assignment", name]
    total = measure(baseline.command(argv))
    if name == "batch":
        total.update(students=count, jobs=jobs, cpu_per_student=total["cpu"] / count)
    return total


def forget_store(course: Path) -> None:
    """Delete the course's reference store (and its journal), as before a course's first grading."""
    sys.path.insert(0, str(REPO))
    from grader.testing.reference_store import FILENAME
    for stale in (course / "solutions").glob(FILENAME + "*"):
        stale.unlink()


def prime_store(work: Path) -> None:
    """Fill the course's reference store as two earlier gradings would (it keeps a result the
    second time its arguments are seen): two unmeasured gradings of all five references."""
    submission = reference_submission(work / "sub-prime", ASSIGNMENTS)
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "grader", "grade", str(submission), "--out", str(work / "out-prime"),
                        "--course", str(REPO), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def again_scenario(assignment: str, times: int, work: Path) -> dict:
    """What each further student costs a batch worker (every process's CPU, per grading)."""
    submission = reference_submission(work / f"again-{assignment}", (assignment,))
    report = work / f"again-{assignment}.json"
    total = measure([sys.executable, __file__, "--worker", str(report), "--", "again", str(times),
                     str(submission), assignment])
    return {**total, **json.loads(report.read_text())}


def check_scenario(assignment: str, work: Path, baseline: Baseline | None = None, runs: int = 5) -> dict:
    """`grader check <assignment>` (the student's self-check: public tests only) on the reference,
    as the command runs it: the median wall time of `runs` (with its CPU), and the fastest."""
    submission = reference_submission(work / f"check-{assignment}", (assignment,))
    argv = ["check", assignment, "--path", str(submission), "-q",
            "--course", str(REPO if baseline is None else baseline.root)]
    command = [sys.executable, "-m", "grader", *argv] if baseline is None else baseline.command(argv)
    measured = sorted((measure(command) for _ in range(runs)), key=lambda r: r["wall"])
    return {**measured[len(measured) // 2], "fastest_wall": measured[0]["wall"], "runs": runs}


def batch_scenario(count: int, jobs: int, work: Path) -> dict:
    folder = work / f"batch-{count}"
    if not folder.exists():
        for i in range(count):
            reference_submission(folder / f"student{i:03d}", ("conv",))
    out = work / f"batch-out-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out), "--course", str(REPO),
               "--assignment", "conv", "--jobs", str(jobs), "-q"]
    total = measure(command)
    return {**total, "students": count, "jobs": jobs, "cpu_per_student": total["cpu"] / count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios",
                        default="full-cold,full,conv,pool,arch,init,autoencoder,again-conv,batch,check-conv")
    parser.add_argument("--batch", type=int, default=20, help="students in the batch scenario")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario (the median is kept)")
    parser.add_argument("--baseline", action="append", default=[], metavar="REV",
                        help="also grade with the grader and course of this git revision, in the same run")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("argv", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.argv[1:] if args.argv[:1] == ["--"] else args.argv, args.worker)
        return
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        baselines = [Baseline(revision, work) for revision in args.baseline]
        primed = False
        try:
            for name in args.scenarios.split(","):
                if not primed and not name.endswith("-cold") and name != "batch":
                    prime_store(work)   # the warm scenarios: a course's later gradings
                    primed = True
                if name.startswith("check-"):   # e.g. check-conv: a student's self-check, wall time
                    results[name] = check_scenario(name.removeprefix("check-"), work)
                    for baseline in baselines:
                        results[f"{name} @{baseline.revision}"] = check_scenario(name.removeprefix("check-"), work,
                                                                                 baseline)
                elif name.startswith("again-"):   # e.g. again-conv: a batch worker's marginal student
                    results[name] = again_scenario(name.removeprefix("again-"), 5, work)
                elif name == "batch":
                    for jobs in (1, 2):
                        runs = sorted((batch_scenario(args.batch, jobs, work) for _ in range(args.repeat)),
                                      key=lambda r: r["wall"])
                        results[f"batch jobs={jobs}"] = runs[len(runs) // 2]
                        for baseline in baselines:
                            runs = sorted((baseline_scenario("batch", baseline, work, args.batch, jobs)
                                           for _ in range(args.repeat)), key=lambda r: r["wall"])
                            results[f"batch jobs={jobs} @{baseline.revision}"] = runs[len(runs) // 2]
                else:
                    runs = sorted((grade_scenario(name, work) for _ in range(args.repeat)), key=lambda r: r["cpu"])
                    results[name] = runs[len(runs) // 2]
                    for baseline in baselines:
                        runs = sorted((baseline_scenario(name, baseline, work) for _ in range(args.repeat)),
                                      key=lambda r: r["cpu"])
                        results[f"{name} @{baseline.revision}"] = runs[len(runs) // 2]
        finally:
            for baseline in baselines:
                baseline.close()
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_table(results: dict) -> None:
    graded = {k: v for k, v in results.items() if "phases" in v and not k.startswith("again-") and "@" not in k}
    if graded:
        names = list(graded)
        print(f"{'CPU seconds':36}" + "".join(f"{n:>12}" for n in names))
        rows = [("wall", "wall"), ("CPU, all processes", "cpu")]
        for label, key in rows:
            print(f"{label:36}" + "".join(f"{graded[n][key]:12.2f}" for n in names))
        for phase in next(iter(graded.values()))["phases"]:
            print(f"  {phase:34}" + "".join(f"{graded[n]['phases'][phase]:12.2f}" for n in names))
        for count in ("sandbox starts", "reference forks", "round trips"):
            print(f"{count:36}" + "".join(f"{graded[n]['counts'].get(count, 0):12d}" for n in names))
        print(f"{'peak RSS grader / child (MiB)':36}" + "".join(
            f"{graded[n]['grader_peak_mib']:7.0f}/{graded[n]['child_peak_mib']:<4.0f}" for n in names))
        print(f"{'score':36}" + "".join(f"{'%g/%g' % tuple(graded[n]['score']):>12}" for n in names))
        if not all(v["exact"] for v in graded.values()):
            print("(approx.: no control group here; children killed before they were reaped are missed)")
    for name, run in results.items():
        if name.startswith("again-"):
            print(f"{name}: a batch worker's first student {run['first_cpu']:.2f} CPU-s, each further one "
                  f"{run['again_cpu']:.2f} CPU-s (every process; grader side: " + ", ".join(
                      f"{k} {v:.2f}" for k, v in run["phases"].items() if k != "start-up" and v >= 0.005) + ")")
    for name, run in results.items():
        if name.startswith("check-"):
            print(f"{name}: wall {run['wall']:.2f} s (median of {run['runs']}; fastest {run['fastest_wall']:.2f} s), "
                  f"CPU {run['cpu']:.2f} s")
    batches = {k: v for k, v in results.items() if k.startswith("batch") and "@" not in k}
    for name, run in batches.items():
        print(f"{name}: {run['students']} conv students, wall {run['wall']:.2f} s, CPU {run['cpu']:.2f} s, "
              f"{run['cpu_per_student']:.3f} CPU-s per student")
    if {"batch jobs=1", "batch jobs=2"} <= batches.keys():
        ratio = batches["batch jobs=1"]["wall"] / batches["batch jobs=2"]["wall"]
        print(f"speed-up --jobs 2 over --jobs 1: {ratio:.2f}x")
    print_comparison(results)


def print_comparison(results: dict) -> None:
    """Each baseline run beside the current code's run of the same scenario, and their ratio."""
    pairs = [(key, key.split(" @")[0], key.split(" @")[1]) for key in results if " @" in key]
    if not pairs:
        return
    print(f"{'same run, before -> after':36}{'CPU before':>12}{'CPU after':>12}{'ratio':>8}"
          f"{'wall before':>13}{'wall after':>12}{'ratio':>8}")
    for key, name, revision in pairs:
        before, after = results[key], results[name]
        cpu = "cpu_per_student" if "cpu_per_student" in after else "cpu"
        print(f"{name + ' (' + revision[:10] + ')':36}{before[cpu]:12.2f}{after[cpu]:12.2f}"
              f"{after[cpu] / before[cpu]:8.2f}{before['wall']:13.2f}{after['wall']:12.2f}"
              f"{after['wall'] / before['wall']:8.2f}")
    for revision in dict.fromkeys(r for _, _, r in pairs):
        one, two = results.get(f"batch jobs=1 @{revision}"), results.get(f"batch jobs=2 @{revision}")
        if one and two:
            print(f"speed-up --jobs 2 over --jobs 1 at {revision[:10]}: {one['wall'] / two['wall']:.2f}x")


if __name__ == "__main__":
    main()

"""Batch grading throughput: the same 20 submissions with --jobs 1 and --jobs 2 (and Dask).

    python scripts/batch_throughput.py [--assignment conv] [--count 20] [--dask] [--json out.json]

Builds `count` submissions of one assignment from its reference solution and skeleton (full
marks, untouched skeleton, a naive-loops copy that fails the speed tests, a copy with a
wrong bias, an import-time crash; folders, .zip and .tar.gz), grades them with
`grader batch` in a subprocess for each setting, and prints the wall time, the speed-up, the
peak memory of each worker process and of the largest sandbox child, and, with --dask,
whether a Dask LocalCluster gives exactly the local pool's scores and per-test results.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

VARIANTS = {
    "full": "",
    "naive": "\n\nconv2d_forward = conv2d_forward_naive\nconv2d_backward = conv2d_backward_naive\n",
    "wrong_bias": ("\n\n_forward = conv2d_forward\n\n\ndef conv2d_forward(x, w, b, stride=1, pad=0):\n"
                   "    return _forward(x, w, 0 * b, stride, pad)\n"),
    "crash": "\n\nraise RuntimeError('crash at import')\n",
}


def build_submissions(folder: Path, assignment: str, count: int) -> list[str]:
    """Write `count` submissions into `folder`; return their kinds in order."""
    solution = (REPO / "solutions" / assignment / f"{assignment}.py").read_text()
    skeleton = (REPO / "assignments" / assignment / f"{assignment}.py").read_text()
    kinds = ["full", "full", "skeleton", "naive", "full", "wrong_bias", "full", "crash", "full", "full"]
    made = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        source = skeleton if kind == "skeleton" else solution + VARIANTS[kind]
        if kind in ("naive", "wrong_bias") and assignment != "conv":
            source = solution
        name, data = f"student{i:02d}-{kind}", source.encode()
        if i % 3 == 1:
            with zipfile.ZipFile(folder / f"{name}.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr(f"hw/{assignment}.py", data)
        elif i % 3 == 2:
            with tarfile.open(folder / f"{name}.tar.gz", "w:gz") as t:
                info = tarfile.TarInfo(f"{assignment}.py")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        else:
            (folder / name).mkdir()
            (folder / name / f"{assignment}.py").write_bytes(data)
        made.append(kind)
    return made


def run_batch(submissions: Path, out: Path, assignment: str, *extra: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(submissions), "--out", str(out),
                           "--assignment", assignment, "--quiet", *extra],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grader batch failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def read_batch(out: Path) -> dict:
    """Scores, per-test statuses and per-worker peak memory of a finished batch."""
    with open(out / "gradebook.csv", newline="") as handle:
        book = {row["folder"]: (row["status"], row["total"]) for row in csv.DictReader(handle)}
    tests, workers, children = {}, {}, 0
    for state_file in sorted((out / ".batch" / "state").glob("*.json")):
        state = json.loads(state_file.read_text())
        worker = state["worker"]
        if worker.get("pid"):
            key = f"{worker['host']}:{worker['pid']}"
            workers[key] = max(workers.get(key, 0), worker["peak_rss_kib"])
            children = max(children, worker["child_peak_rss_kib"])
        results = json.loads((out / state["folder"] / "results.json").read_text())
        tests[state["folder"]] = [(t["number"], t["status"]) for t in results["tests"]]
    return {"gradebook": book, "tests": tests, "worker_peak_mib": {k: v / 1024 for k, v in workers.items()},
            "child_peak_mib": children / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="conv")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--dask", action="store_true", help="also grade on a Dask LocalCluster (2 workers)")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="batch-throughput-"))
    try:
        subs = work / "submissions"
        subs.mkdir()
        kinds = build_submissions(subs, args.assignment, args.count)
        print(f"{args.count} submissions of {args.assignment}: "
              + ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds)) + f"; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f} (other processes competing for the CPUs skew the speed-up)")
        report: dict = {"assignment": args.assignment, "count": args.count, "cpus": os.cpu_count(),
                        "load_before": round(os.getloadavg()[0], 2), "runs": {}}
        settings = [("jobs1", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"])]
        if args.dask:
            settings.append(("dask2", ["--jobs", "2", "--executor", "dask"]))
        for label, extra in settings:
            seconds = run_batch(subs, work / label, args.assignment, *extra)
            batch = read_batch(work / label)
            report["runs"][label] = {"seconds": round(seconds, 1), "per_student_s": round(seconds / args.count, 2),
                                     "worker_peak_mib": {k: round(v, 1) for k, v in batch["worker_peak_mib"].items()},
                                     "child_peak_mib": round(batch["child_peak_mib"], 1)}
            report["runs"][label]["_batch"] = batch
            peaks = ", ".join(f"{v:.0f}" for v in batch["worker_peak_mib"].values())
            print(f"{label:6s} {seconds:6.1f} s  ({seconds / args.count:.2f} s per student)  "
                  f"worker peak RSS MiB: {peaks}  largest sandbox child: {batch['child_peak_mib']:.0f} MiB")
        local = report["runs"]["jobs1"].pop("_batch")
        two = report["runs"]["jobs2"].pop("_batch")
        report["speedup_jobs2"] = round(report["runs"]["jobs1"]["seconds"] / report["runs"]["jobs2"]["seconds"], 2)
        report["jobs1_equals_jobs2"] = local["gradebook"] == two["gradebook"] and local["tests"] == two["tests"]
        print(f"speed-up with --jobs 2: {report['speedup_jobs2']:.2f}x; "
              f"same scores and test results: {report['jobs1_equals_jobs2']}")
        if args.dask:
            dask = report["runs"]["dask2"].pop("_batch")
            report["dask_equals_local"] = dask["gradebook"] == two["gradebook"] and dask["tests"] == two["tests"]
            differing = sorted(k for k in two["gradebook"] if dask["gradebook"].get(k) != two["gradebook"][k])
            print(f"Dask LocalCluster: same scores and test results as the local pool: {report['dask_equals_local']}"
                  + (f" (differs: {differing})" if differing else ""))
        report["load_after"] = round(os.getloadavg()[0], 2)
        print(f"load average now {report['load_after']:.1f}")
        totals = sorted(two["gradebook"].items())
        print("scores:", ", ".join(f"{k}={v[1]}" for k, v in totals))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

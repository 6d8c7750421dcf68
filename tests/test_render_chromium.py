"""summary.html and report.html render in headless Chromium: exit code 0, the expected content
in the DOM, and nothing on the page's console (no script error, no blocked external resource).

Skipped where Chromium is absent (Debian: `apt-get install -y chromium`; CI installs it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--dump-dom"]
CONSOLE = re.compile(r":CONSOLE[:(]")   # Chromium's log line for anything a page writes to its console


def dump_dom(page: Path, profile: Path) -> tuple[str, list[str]]:
    """(the DOM after loading `page`, the page's console lines); asserts Chromium exits with 0."""
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"chromium exited with {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout, [line for line in done.stderr.splitlines() if CONSOLE.search(line)]


def page_width(page: Path, profile: Path, width: int) -> int:
    """The document's scroll width when `page` is shown in a frame `width` CSS pixels wide (headless
    Chromium's window is at least 500 px wide, a frame can be narrower; its media queries see it)."""
    probe = page.with_name(f".probe-{width}-{page.stem}.html")
    probe.write_text(f'<!doctype html><iframe id="f" src="{page.name}" style="width: {width}px; height: 900px; '
                     'border: 0"></iframe><script>document.getElementById("f").onload = function () {'
                     ' document.body.insertAdjacentHTML("beforeend", "<p id=sw>" + this.contentDocument'
                     '.documentElement.scrollWidth + "</p>"); };</script>')
    done = subprocess.run([CHROMIUM, *FLAGS, "--allow-file-access-from-files", "--virtual-time-budget=5000",
                           f"--user-data-dir={profile}", probe.resolve().as_uri()],
                          capture_output=True, text=True, timeout=90)
    probe.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    return int(re.search(r'<p id="sw">(\d+)</p>', done.stdout).group(1))


def test_the_console_check_catches_a_script_error(tmp_path):
    """Control: the same check does see a page's JavaScript error with this Chromium."""
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p id=x>before</p><script>x.textContent = 'after'; missingFunction();</script>")
    dom, console = dump_dom(page, tmp_path / "profile")
    assert '<p id="x">after</p>' in dom
    assert any("Uncaught ReferenceError" in line for line in console)


def test_summary_and_report_render_without_errors(tmp_path, toy_course):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for name, source in (("alice", toy_course / "solutions/toy/toy.py"),
                         ("bob", toy_course / "assignments/toy/toy.py")):
        (subs / name).mkdir(parents=True)
        shutil.copy(source, subs / name / "toy.py")
    with zipfile.ZipFile(subs / "mallory.zip", "w") as archive:
        archive.writestr("../toy.py", "x = 1\n")
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(subs), "--out", str(out), "--jobs", "2",
                           "--course", str(toy_course), "-q"], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=240)
    assert done.returncode == 0, done.stderr

    dom, console = dump_dom(out / "summary.html", tmp_path / "profile1")
    assert console == [], f"summary.html wrote to the console: {console}"
    for expected in ("Class summary", "Score distribution per assignment", "Where the class struggles",
                     "double matches the reference", "mallory", "unsafe archive", "Slowest submissions",
                     "bubblewrap" if "bubblewrap" in (out / "alice" / "results.json").read_text() else "basic"):
        assert expected in dom, f"summary.html DOM lacks {expected!r}"
    assert dom.count("<svg") == 1 and "<rect" in dom, "the score histogram is not in the DOM"
    assert '<a href="alice/report.html">alice</a>' in dom
    order = [dom.index(f'<section id="{name}"') for name in ("problems", "mistakes", "distributions", "tests",
                                                               "slowest", "students")]
    assert order == sorted(order), "summary.html is not in its top-down order"
    for page in (out / "summary.html", out / "bob" / "report.html"):
        assert page_width(page, tmp_path / f"narrow-{page.parent.name}", 390) <= 390, f"{page} scrolls sideways at 390 px"

    dom, console = dump_dom(out / "alice" / "report.html", tmp_path / "profile2")
    assert console == [], f"report.html wrote to the console: {console}"
    assert "Grading report: alice" in dom and "double doubles a small array" in dom and "passed" in dom
    external = re.search(r"<(script|link|iframe)\b|\s(src|href)=\"(https?:)?//", dom)
    assert not external, f"report.html is not self-contained: {external.group(0)}"

"""Hostile replies and hostile text: the grader stays small and fast, and student text stays text.

A toy course ("hostile") whose student module answers with everything a determined student can
send: a 100 MB string where an int is expected, a string just under the header cap, raw frames
written straight onto the reply pipe (100,000-deep header, a 150 MB header, 2**32-1 blobs, a
lying .npy header), and messages and printed output full of rich markup, Markdown fences,
HTML, fake score headings and control characters. Graded end to end through the CLI, the
grader's own peak memory, its time, the report sizes and every output format are checked.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from markupsafe import Markup

from grader import console
from grader.checks import CheckFailure, quote
from grader import models
from grader.quoting import MESSAGE_LIMIT, QUOTE_LIMIT, clip
from grader.reports import write_reports
from grader.reports.sanitize import TEXT_LIMIT, clean, md_code, md_inline
from grader.sandbox.errors import StudentRaised, StudentUnavailable

ROOT = Path(__file__).resolve().parents[1]
MiB = 1 << 20

# What a student's message may contain: rich markup, a fence breaker, HTML, a fake heading,
# a fake score, terminal escapes, a bell, NUL, a carriage return, a right-to-left override.
MARKUP = ("[/] [bold red]pwned[/bold red] ``` </details><script>alert(1)</script>\n"
          "# Score: 100/100\n<img src=x onerror=alert(2)>\x1b[2J\x07\x00\rhidden\u202eevil")
ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")

FUNCTIONS = ["huge_string", "near_cap_string", "raises_markup", "prints_markup", "deep_reply",
             "huge_header_reply", "many_blobs_reply", "lying_npy_reply", "fine"]

HOSTILE_STUDENT = '''
import os
import struct
import sys

import numpy as np

MARKUP = {markup!r}


def _raw(data):
    """Write bytes straight onto the reply pipe, as a student who read child.py can
    (its arguments are MODULE FD_IN FD_OUT after the folders)."""
    fd, view = int(sys.argv[sys.argv.index("hostile") + 2]), memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def huge_string(n):
    return "x" * 100_000_000


def near_cap_string(n):
    return "<script>" + "y" * 1_000_000


def raises_markup(n):
    raise ValueError(MARKUP * 50)


def prints_markup(n):
    print(MARKUP * 3)
    print("z" * 100_000)
    return MARKUP


def deep_reply(n):
    header = b"[" * 100_000 + b"]" * 100_000
    _raw(b"GRW1" + struct.pack("<I", len(header)) + header + struct.pack("<I", 0))
    return n


def huge_header_reply(n):
    body = b"[]," * (50 << 20)  # 150 MB: the grader must refuse it from its first 8 bytes
    _raw(b"GRW1" + struct.pack("<I", len(body)) + body)
    return n


def many_blobs_reply(n):
    header = b'{{"id": 1, "ok": 1}}'
    _raw(b"GRW1" + struct.pack("<I", len(header)) + header + struct.pack("<I", 2**32 - 1))
    while True:
        _raw(b"\\0" * 65536)  # zero-length blobs, forever


def lying_npy_reply(n):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {{"descr": "<f8", "fortran_order": False, "shape": (10**12,)}})
    blob = buf.getvalue() + b"\\0" * 64
    header = b'{{"t": "dict", "v": [["id", 1], ["ok", {{"t": "array", "i": 0}}]]}}'
    _raw(b"GRW1" + struct.pack("<I", len(header)) + header + struct.pack("<I", 1)
         + struct.pack("<Q", len(blob)) + blob)
    return n


def fine(n):
    return n
'''.format(markup=MARKUP)

REFERENCE = "".join(f"\ndef {name}(n):\n    return n\n" for name in FUNCTIONS)
SKELETON = "".join(f"\ndef {name}(n):\n    raise NotImplementedError\n" for name in FUNCTIONS)

TESTS = '''
import pytest

from grader.checks import CheckFailure, quote

FUNCTIONS = {functions!r}


@pytest.mark.points(1)
@pytest.mark.parametrize("func", FUNCTIONS)
def test_returns_the_int(student, func):
    """{kind}: returns the int it was given"""
    got = getattr(student, func)(3)
    if type(got) is not int or got != 3:
        raise CheckFailure(f"{{func}} (n=3): returned {{quote(got)}} ({{type(got).__name__}}), expected the int 3")
'''


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostilecourse")
    files = {
        "assignments/hostile/assignment.toml": 'title = "Hostile"\nmodule = "hostile"\norder = 1\n'
                                               f'hidden_points = {len(FUNCTIONS)}\n',
        "assignments/hostile/hostile.py": SKELETON,
        "assignments/hostile/tests/test_hostile_public.py": TESTS.format(functions=FUNCTIONS, kind="public"),
        "solutions/hostile/hostile.py": REFERENCE,
        "solutions/hostile/tests/test_hostile_hidden.py": TESTS.format(functions=FUNCTIONS, kind="hidden"),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    shutil.copytree(ROOT / "templates", root / "templates")
    return root


@pytest.fixture(scope="module")
def hostile_submission(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-student")
    (folder / "hostile.py").write_text(HOSTILE_STUDENT)
    return folder


# Runs the CLI and reports the grader process's own peak RSS (children excluded).
MEASURED_CLI = ("import resource, sys\n"
                "import grader.cli\n"
                "try:\n"
                "    code = grader.cli.main()\n"
                "finally:\n"
                "    sys.stderr.write('\\nGRADER_MAXRSS_KIB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
                "sys.exit(code)\n")


def run_measured(*args) -> tuple[subprocess.CompletedProcess, float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED_CLI, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300, errors="replace")
    seconds = time.perf_counter() - started
    maxrss = int(re.search(r"GRADER_MAXRSS_KIB (\d+)", done.stderr).group(1)) * 1024
    return done, seconds, maxrss


@pytest.fixture(scope="module")
def graded(hostile_course, hostile_submission, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile-reports")
    done, seconds, maxrss = run_measured("grade", hostile_submission, "--out", out, "--course", hostile_course)
    print(f"\nhostile grading: {seconds:.1f} s, grader peak RSS {maxrss / MiB:.0f} MiB, reports "
          + ", ".join(f"{p.name} {p.stat().st_size / 1024:.1f} KiB" for p in sorted(out.iterdir())))
    return done, seconds, maxrss, out


def test_hostile_replies_fail_only_their_own_tests_and_grading_completes(graded):
    done, _, _, out = graded
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    tests = {t["name"]: t for t in data["tests"]}
    for kind in ("public", "hidden"):
        assert tests[f"{kind}: returns the int it was given [fine]"]["status"] == "passed"
        failed = [name for name, t in tests.items() if name.startswith(kind) and t["status"] == "failed"]
        assert len(failed) == len(FUNCTIONS) - 1
    hidden = {name.split("[")[1].rstrip("]"): t["output"] for name, t in tests.items() if name.startswith("hidden")}
    assert "not plain data" in hidden["huge_string"] and "100000000 characters" in hidden["huge_string"]
    assert "(1,000,008 characters)" in hidden["near_cap_string"]
    assert "nested too deeply" in hidden["deep_reply"]
    assert "157286400 bytes is over the limit" in hidden["huge_header_reply"]
    assert "4294967295 arrays" in hidden["many_blobs_reply"]
    assert "array header announces 1000000000000 x 8 bytes" in hidden["lying_npy_reply"]
    assert all(len(output) <= MESSAGE_LIMIT for output in hidden.values())


def test_grader_memory_time_and_report_sizes_stay_small(graded):
    _, seconds, maxrss, out = graded
    assert seconds < 60
    assert maxrss < 512 * MiB
    for name in ("results.json", "report.html", "report.md"):
        assert (out / name).stat().st_size < MiB


def test_console_prints_hostile_messages_as_text(graded, hostile_course, hostile_submission):
    done = graded[0]
    assert "Traceback" not in done.stderr
    assert "[/]" in done.stdout and "pwned[/bold red]" in done.stdout   # shown literally, not parsed
    assert "\x1b[2J" not in done.stdout and "\x07" not in done.stdout and "\x00" not in done.stdout
    check, seconds, _ = run_measured("check", "hostile", "--course", hostile_course, "--path", hostile_submission)
    assert check.returncode == 1 and "Traceback" not in check.stderr, check.stderr[-3000:]
    assert "[/]" in check.stdout and "public tests only" in check.stdout.lower()
    assert "\x1b[2J" not in check.stdout and "\x07" not in check.stdout
    print(f"\nhostile check: {seconds:.1f} s")


# -- the report formats, on the hostile grading and on a hand-made result ---------------------

def hostile_result(output: str = MARKUP, error: str | None = None) -> models.GradingResult:
    """A result whose every student-controlled string is hostile (an assignment with an `error`
    shows that once and lists no test: pass None to see the tests' outputs rendered)."""
    tests = [models.TestResult(name="a public test", number="hostile.1", assignment="hostile", max_score=1,
                        passed=False, visibility="visible", output=output,
                        attachments=[models.Attachment("text", "printed", output)]),
             models.TestResult(name="a hidden test", number="hostile.2", assignment="hostile", max_score=1,
                        passed=False, visibility="after_due_date", output="```` " + output + "\n`````````")]
    assignment = models.AssignmentResult(name="hostile", title="Hostile", tests=tests, error=error,
                                         graded_path="hw3/" + MARKUP, notes=[MARKUP, "ambiguous: " + MARKUP],
                                         candidates=[MARKUP, "conv.py"], ambiguous=True)
    return models.GradingResult(submission=f"/subs/eve[/]<b>\x1b[31m\n# Score: 100", assignments=[assignment],
                         sandbox="bubblewrap", device="cpu", version="test", ignored=[MARKUP + " (3 bytes)"])


@pytest.fixture(params=["end to end", "hand-made"])
def reports(request, graded, tmp_path) -> Path:
    if request.param == "end to end":
        return graded[3]
    write_reports(hostile_result(), tmp_path)
    return tmp_path


def markdown_tokens(text: str):
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark")
    tokens = md.parse(text)
    flat = list(tokens)
    for token in tokens:
        flat += token.children or []
    return tokens, flat


def test_report_md_cannot_be_broken_out_of(reports):
    text = (reports / "report.md").read_text()
    tokens, flat = markdown_tokens(text)
    assert not [t for t in flat if t.type in ("html_block", "html_inline")]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) == 2 and headings[0].startswith("Grading report:") and headings[1].startswith("Hostile")
    assert not any("Score: 100" in h and not h.startswith("Grading report") for h in headings)
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and any("</details><script>" in t.content and "# Score: 100/100" in t.content for t in fences)
    links_or_images = [t for t in flat if t.type in ("link_open", "image")]
    assert not links_or_images


def test_report_html_is_escaped_and_has_a_csp(reports):
    html = (reports / "report.html").read_text()
    assert re.search(r'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'', html)
    assert "<script" not in html and "<img src=x" not in html and "</details><script>" not in html
    assert "&lt;/details&gt;&lt;script&gt;" in html


def test_no_control_characters_in_any_report(reports):
    for name in ("results.json", "report.html", "report.md"):
        text = (reports / name).read_text(encoding="utf-8")
        assert not ACTIVE.search(text), (name, ACTIVE.search(text))
    data = json.loads((reports / "results.json").read_text())
    strings = [data["output"]] if "output" in data else []
    strings += [t["output"] for t in data["tests"]] + [a["error"] or "" for a in data["assignments"]]
    strings += [a["graded_path"] or "" for a in data["assignments"]] + data["ignored"]
    strings += [n for a in data["assignments"] for n in a["notes"] + a["candidates"]]
    assert any("\\x1b" in s for s in strings)  # escaped visibly, not dropped silently
    assert not any(ACTIVE.search(s) for s in strings)


def test_results_json_declares_text_output(reports):
    data = json.loads((reports / "results.json").read_text())
    assert data["output_format"] == data["test_output_format"] == data["test_name_format"] == "text"
    assert data["tests"] and all(t["output_format"] == "text" and t["name_format"] == "text" for t in data["tests"])


def test_gradescope_failure_results_are_text_too():
    from grader.gradescope import failure_results
    data = failure_results("bad archive " + MARKUP)
    assert data["output_format"] == "text" and not ACTIVE.search(data["output"])


def test_reports_write_lone_surrogates_and_huge_text(tmp_path):
    result = hostile_result(output="\ud800" + "w" * (10 * MiB))
    result.assignments.append(models.AssignmentResult(name="broken", title="Broken", tests=[], error="e" * MiB,
                                                      notes=["n" * MiB], graded_path="p" * MiB))
    paths = write_reports(result, tmp_path)
    for path in paths.values():
        assert path.stat().st_size < MiB
    assert "\\ud800" in paths["md"].read_text()


# -- the console functions, in process ---------------------------------------------------------

@pytest.fixture
def recorded(monkeypatch):
    from rich.console import Console
    buffer = io.StringIO()
    monkeypatch.setattr(console, "out", Console(file=buffer, width=200, highlight=False, color_system=None))
    return buffer


@pytest.mark.parametrize("message", ["[/]", "[bold red]", "[/bold red] [link=x]y[/link] :warning:", MARKUP])
def test_print_check_and_grade_show_markup_literally(recorded, message, tmp_path):
    result = hostile_result(output=message, error=message)
    result.assignments[0].public_only = True
    console.print_check(result)
    console.print_grade(result, {"html": tmp_path / "report.html"})
    printed = recorded.getvalue()
    assert message.split("\n")[0] in printed
    assert "\x1b" not in printed and "\x07" not in printed and "\x00" not in printed
    assert ":warning:" in printed or ":warning:" not in message   # no emoji substitution either


# -- quoting: bounded, and cheap whatever the size of the value ---------------------------------

def test_quote_never_builds_the_whole_repr_of_a_huge_value():
    huge = "x" * 100_000_000
    started = time.perf_counter()
    shown = [quote(huge), quote([huge, huge]), quote({"k": huge}), quote(list(range(100_000))),
             quote(np.zeros(10**7)), quote(b"y" * 10**7), quote(10**5000), quote(("a" * 300,) * 50)]
    assert time.perf_counter() - started < 0.5
    assert all(len(s) <= QUOTE_LIMIT + 60 for s in shown), [len(s) for s in shown]
    assert shown[0].endswith("… (100,000,000 characters)")
    assert shown[3].endswith("(list of 100,000 items)")
    assert quote(3) == "3" and quote("ab") == "'ab'" and quote((1, 2)) == "(1, 2)"


def test_quote_escapes_control_characters():
    assert "\x1b" not in quote("\x1b[2J") and "\\x1b" in quote("\x1b[2J")


def test_messages_are_clipped_whatever_builds_them():
    assert len(str(CheckFailure("m" * 10**6))) == MESSAGE_LIMIT
    raised = StudentRaised("f", "T" * 10**5, "m" * 10**6, " (w" * 10**5)
    assert len(str(raised)) <= MESSAGE_LIMIT and len(raised.type_name) <= QUOTE_LIMIT
    assert len(str(StudentUnavailable("u" * 10**6))) == MESSAGE_LIMIT
    assert clip(clip("c" * 5000)) == clip("c" * 5000)


def test_clean_is_bounded_idempotent_and_keeps_newlines_and_tabs():
    text = "a\tb\r\nc\x1b[31m\u202e\ud800" + "d" * TEXT_LIMIT
    once = clean(text)
    assert clean(once) == once and len(once) <= TEXT_LIMIT and not ACTIVE.search(once)
    assert once.startswith("a\tb\nc\\x1b[31m\\u202e\\ud800d")


def test_md_code_fence_is_longer_than_any_backtick_run():
    text = "``````````\n```\n</details><script>x</script>\n# Score: 100/100"
    block = md_code(text, 2)
    tokens, _ = markdown_tokens("- item\n\n" + block + "\n\nafter\n")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].content.rstrip("\n") == text
    assert [t.type for t in tokens if t.type == "heading_open"] == []


def test_md_inline_is_literal():
    text = "[a](javascript:x) <b>*c*</b> _d_ `e` # f | g \\ h\n# Score: 100"
    tokens, flat = markdown_tokens("> Not graded: " + md_inline(text) + "\n")
    assert [t.type for t in flat if t.type not in ("text", "softbreak")] == [
        "blockquote_open", "paragraph_open", "inline", "paragraph_close", "blockquote_close"]
    inline = next(t for t in flat if t.type == "inline")
    assert inline.children[0].content == "Not graded: " + " ".join(text.split())


@pytest.mark.parametrize("text", ["# Score: 100", "1. first", "12) twelfth", "- item", "+ item", "> quote",
                                  "=== setext", "    indented code", "<script>x</script>", "[x]: http://a",
                                  "***", "| a | b |", "~~~ fence", "\\*not emphasis*", "www.example.com &amp; x"])
def test_md_inline_is_one_literal_paragraph_even_at_the_start_of_a_line(text):
    tokens, flat = markdown_tokens(md_inline(text) + "\n")
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], text
    inline = next(t for t in flat if t.type == "inline")
    assert "".join(c.content for c in inline.children if c.type == "text") == " ".join(text.split())
    assert {c.type for c in inline.children} <= {"text"}, text


def test_every_template_value_is_inert_and_gradebook_cells_too():
    from grader.batch.gradebook import safe_cell
    from grader.reports.render import environment
    env = environment()
    rendered = env.from_string("{{ x }}|{{ y|safe }}").render(x="a\x1b[2Jb\u202e", y=Markup("<svg/>"))
    assert rendered == "a\\x1b[2Jb\\u202e|<svg/>"
    cell = safe_cell("=HYPERLINK(\"x\")\x07\r")
    assert cell.startswith("'=") and "\x07" not in cell and "\r" not in cell

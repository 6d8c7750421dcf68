"""Reports, `grader check` and the class summary lead with what to fix: diagnoses first, failures
grouped by function (the most informative case first, the rest folded), passes folded."""
from __future__ import annotations

import io

import pytest

from grader import console, models
from grader.reports.check_text import check_lines
from grader.reports.feedback import case_of, diagnoses, failure_groups, function_of
from grader.reports.render import render_report


def _test(n, passed, output="", visibility="after_due_date", name=None):
    return models.TestResult(name=name or f"test {n}", number=f"conv.{n}", assignment="conv", max_score=1,
                             passed=passed, visibility=visibility, output=output)


def _result(diagnosis=None):
    msg = "{f} ({case}): output differs (relative error 4.62e-01 > 1e-10); worst at index (0, 0, 0, 0): expected 0, got 12"
    tests = [_test(1, True, visibility="visible"),
             _test(2, False, msg.format(f="conv2d_forward", case="N2-C3-H7-W6-D4-F3-S1-P1")),
             _test(3, False, msg.format(f="conv2d_forward", case="N1-C1-H4-W5-D1-F3-S1-P0, w[0, 0] = 1 only"),
                   visibility="visible"),
             _test(4, False, msg.format(f="conv2d_backward", case="N2-C2-H5-W7-D3-F3-S2-P1, L = sum(z * g)")),
             *[_test(k, True) for k in range(5, 30)]]
    a = models.AssignmentResult(name="conv", title="Convolution", tests=tests, graded_path="conv.py",
                                public_only=True, hidden_points=74)
    if diagnosis:
        a.diagnoses = [diagnosis]
    return models.GradingResult(submission="bob", assignments=[a], sandbox="basic", device="cpu", version="0")


def test_failures_are_grouped_by_function_the_public_case_first():
    a = _result().assignments[0]
    groups = failure_groups(a)
    assert [g.function for g in groups] == ["conv2d_forward", "conv2d_backward"]
    assert [t.number for t in groups[0].tests] == ["conv.3", "conv.2"]     # the public one first
    assert groups[0].other_cases() == "conv.2 (N2-C3-H7-W6-D4-F3-S1-P1)"
    assert case_of(groups[1].first) == "N2-C2-H5-W7-D3-F3-S2-P1, L = sum(z * g)"
    assert function_of(_test(9, False, "xavier_init((64, 24), rng=1): bad")) == "xavier_init"


def test_reports_open_with_the_diagnosis_and_fold_the_rest():
    result = _result("Likely mistake: a true convolution: the kernel is flipped (conv2d_forward)")
    assert diagnoses(result.assignments[0]) == ["a true convolution: the kernel is flipped (conv2d_forward)"]
    md = render_report(result, "md")
    lines = md.splitlines()
    first = next(k for k, line in enumerate(lines) if "Likely mistake" in line)
    assert first < next(k for k, line in enumerate(lines) if "conv2d\\_forward**" in line)
    assert "and 1 more case: conv.2" in md and "Passed: 26 tests (26 points)." in md
    assert "test 7" not in md                                                  # passed tests folded
    html = render_report(result, "html")
    assert html.index('class="diagnosis"') < html.index("<h3 class=\"function\">")
    assert "and 1 more case" in html and "26 passed tests" in html
    assert "Likely mistake" not in render_report(_result(), "md")


@pytest.mark.parametrize("width", [80, 50])
def test_check_lines_put_failures_first_and_fit_the_width(width):
    lines = check_lines(_result("the kernel is flipped").assignments[0], width)
    texts = [text for text, _ in lines]
    assert all(len(text) <= width for text in texts)
    kinds = [kind for _, kind in lines]
    assert kinds.index("failed") < kinds.index("passed") < kinds.index("diagnosis")
    assert sum(kind == "passed" for kind in kinds) == 1 and "--verbose" in texts[kinds.index("passed")]
    joined = " ".join(texts)
    assert "conv2d_backward" in joined and "N2-C2-H5-W7-D3-F3-S2-P1" in joined
    verbose = [text for text, kind in check_lines(_result().assignments[0], width, verbose=True) if kind == "passed"]
    assert len(verbose) >= 27


def test_print_check_ends_with_the_hidden_points_line(monkeypatch):
    from rich.console import Console
    buffer = io.StringIO()
    monkeypatch.setattr(console, "out", Console(file=buffer, width=120, highlight=False, color_system=None))
    monkeypatch.setenv("COLUMNS", "80")
    console.print_check(_result("the kernel is flipped"), release="release 1")
    lines = buffer.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines) and len(lines) <= 24
    assert "74 more points are in hidden tests" in " ".join(lines[-2:])
    assert lines[0].startswith("Convolution: public tests only") and "✗" in lines[2]


@pytest.mark.parametrize("output, name, function", [
    ("maxpool_backward raised SystemExit: 0", "maxpool_backward sends each window's gradient to its maximum",
     "maxpool_backward"),
    ("corrupt did not return within 10 s (stopped)", "corrupt: shape kept, entries zeroed", "corrupt"),
    ("failed: KeyError in a hidden check (details of hidden tests are not shown)",
     "A kernel with its only 1 in the top-left corner [conv2d_forward_naive]", "conv2d_forward_naive"),
    ("the student process exited with code 1 during the call of fc_param_count", "fc_param_count: 32x32", "fc_param_count"),
    ("the time budget for conv (300 s) is used up", "The lecture's example", "other"),
])
def test_a_failure_is_filed_under_the_function_its_message_or_name_names(output, name, function):
    """A crash, a hang or a hidden check's exception is filed with the function's other failures."""
    assert function_of(_test(1, False, output, name=name)) == function

"""Wrong-but-plausible initialisers lose exactly the tests of what they break; the reference
earns everything and its report shows the activation curves as SVG line charts."""
import xml.etree.ElementTree as ET

import pytest

import helpers
from grader.pipeline import grade_submission
from helpers import COURSE, assignment_score, declared, grade, lost, make_submission, mistake_submission

# The mutants are the catalogued mistakes (solutions/init/mistakes.py): edits and declared tests.

SVG_NS = "{http://www.w3.org/2000/svg}"


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tagged(results, *tags):
    return [t for t in helpers.assignment_tests(results, "init") if set(tags) <= set(t["tags"])]


def _check_losses(results, expected):
    """The mutant loses all points of the `expected` tests and no others."""
    assert _numbers(lost(results, "init")) == _numbers(expected)
    assert all(t["score"] == 0 for t in expected)
    score, max_score = assignment_score(results, "init")
    assert score == max_score - sum(t["max_score"] for t in expected)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("init-mutants")


def test_xavier_with_fan_out_loses_mode_in_tests(workdir):
    # mode="in" uses Var = 1/fan_out: wrong for every non-square shape; "avg" is symmetric in
    # the fans, and activation_stats uses square layers, so nothing else changes.
    name = "xavier-in-with-fan-out"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert expected == _tagged(results, "xavier", "mode-in")
    assert len(expected) == 2  # normal and uniform distribution tests, 4 points
    _check_losses(results, expected)


def test_he_with_one_over_fan_in_loses_he_tests(workdir):
    # He with Var = 1/fan_in (Xavier's forward rule): the He distribution tests, the public std
    # sanity check, and every activation experiment that uses He (ReLU halves the variance
    # per layer instead of keeping it).
    name = "he-with-one-over-fan-in"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert expected == _tagged(results, "he")
    assert {"distribution", "activation_stats", "sanity"} <= {tag for t in expected for tag in t["tags"]}
    assert len(expected) == 6
    _check_losses(results, expected)


def test_uniform_bound_of_sqrt_var_loses_uniform_tests(workdir):
    # U[-sqrt(Var), sqrt(Var)] has variance Var/3: every uniform distribution test fails, the
    # normal ones and the (normal) activation experiment do not change.
    name = "uniform-bound-sqrt-var"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert expected == _tagged(results, "uniform")
    assert len(expected) == 3  # Xavier avg, Xavier in, He: 6 points
    _check_losses(results, expected)


def _diagnosed(results, name):
    """The assignment's diagnoses name the mistake `name` (and only it)."""
    (assignment,) = [a for a in results["assignments"] if a["name"] == "init"]
    (diagnosis,) = assignment["diagnoses"]
    assert diagnosis.startswith(helpers.mistake("init", name).diagnosis + " (")


def test_distribution_ignored_loses_uniform_tests(workdir):
    # Always N(0, Var): the variance is right, so only the shape of the law (KS) gives it away, and
    # only where "uniform" was asked for.
    name = "distribution-ignored"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert expected == _tagged(results, "uniform")
    assert len(expected) == 3
    _check_losses(results, expected)
    _diagnosed(results, name)


def test_xavier_avg_with_one_over_fan_in_loses_mode_avg_tests(workdir):
    # Var = 1/n_in for mode "avg": the two mode-avg distribution tests and the public std sanity
    # check (its (200, 100) shape is off by 13 %); square layers (activation_stats) do not notice.
    name = "xavier-avg-with-one-over-fan-in"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert _numbers(expected) == _numbers(_tagged(results, "xavier", "mode-avg") + _tagged(results, "xavier", "sanity"))
    assert len(expected) == 3
    _check_losses(results, expected)
    _diagnosed(results, name)


def test_conv_fan_in_of_channels_only_loses_conv_fan_tests(workdir):
    # fan_in = C for (D, C, F, F): the conv fans with F > 1 (a 1x1 kernel's fans stay right), and the
    # Xavier and He distribution tests on the conv shape; dense shapes keep full marks.
    name = "conv-fan-in-channels-only"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert len(expected) == 6
    assert not any("10x20x1x1" in t["name"] for t in expected)
    assert {"fans", "distribution", "sanity"} <= {tag for t in expected for tag in t["tags"]}
    _check_losses(results, expected)
    _diagnosed(results, name)


def test_activation_ignored_loses_relu_and_linear_curves(workdir):
    # Every layer uses tanh: the tanh curves are unchanged, the ReLU and linear ones are not.
    name = "activation-ignored-always-tanh"
    sub = mistake_submission(workdir, "init", name)
    results = grade(sub, ["init"])
    expected = declared(results, "init", name)
    assert len(expected) == 4  # public He + ReLU, hidden Xavier + ReLU, He + ReLU, Xavier + linear
    assert all("activation_stats" in t["tags"] for t in expected)
    _check_losses(results, expected)
    _diagnosed(results, name)


def test_drawing_the_weights_before_the_inputs_keeps_full_marks(workdir):
    # A correct activation_stats that draws in another order (all weights first, then the
    # inputs) gives other curves at the same seed; the tolerances are sized for exactly that.
    sub = make_submission(workdir, "init", name="other-order", replace=(
        ("    x = rng.standard_normal((n_samples, width))\n",
         "    weights = [make_weights((width, width), rng) for _ in range(n_layers)]\n"
         "    x = rng.standard_normal((n_samples, width))\n"),
        ("        w = make_weights((width, width), rng)\n", "        w = weights[layer]\n"),
    ))
    results = grade(sub, ["init"])
    assert lost(results, "init") == []


def test_reference_full_marks_and_curve_pictures(workdir):
    sub = make_submission(workdir, "init", name="reference")
    result = grade_submission(sub, COURSE, assignments=["init"])
    (assignment,) = result.assignments
    assert assignment.error is None
    assert assignment.score == assignment.max_score == 53
    curves = [t for t in assignment.tests if "activation_stats" in t.tags and "validation" not in t.tags
              and "returns (means, stds)" not in t.name]
    assert len(curves) == 8  # 6 lecture cases + small case (hidden), He + ReLU (public)
    for test in curves:
        svgs = [a for a in test.attachments if a.kind == "svg"]
        assert len(svgs) == 1, test.name
        root = ET.fromstring(svgs[0].data)
        assert root.tag == SVG_NS + "svg"
        drawn = root.findall(f".//{SVG_NS}circle")
        assert drawn, f"{test.name}: no points drawn"

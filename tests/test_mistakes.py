"""The catalogue of typical mistakes and the diagnosis: every entry applies to its reference, a
correct output is never diagnosed, a catalogued mistake's output is, and results.json keeps it."""
import numpy as np
import pytest

from grader.diagnosis import Call, Raised, close, diagnose, explains
from grader.mistakes import catalogue, changed_functions, variant_module
from grader.models import AssignmentResult
from helpers import COURSE, load_module


def _reference(spec):
    return load_module(spec.solution_file, f"_test_reference_{spec.name}")


@pytest.mark.parametrize("spec", COURSE.assignments, ids=lambda s: s.name)
def test_every_entry_applies_and_changes_a_function(spec):
    entries = catalogue(spec)
    assert entries, f"{spec.name} has no catalogue"
    reference = _reference(spec)
    for mistake in entries:
        assert mistake.explanation and mistake.fails, mistake.name
        assert changed_functions(variant_module(spec, mistake), reference), mistake.name


def _conv_calls(module, seeds):
    calls = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
        calls.append(Call("conv2d_forward", (x, w, b), {"stride": 1 + seed % 2, "pad": seed % 2},
                          module.conv2d_forward(x, w, b, stride=1 + seed % 2, pad=seed % 2)))
    return calls


def test_correct_outputs_are_never_diagnosed():
    spec = COURSE.assignment("conv")
    reference = _reference(spec)
    assert diagnose(spec, _conv_calls(reference, range(50)), reference) == []


def test_flipped_kernel_outputs_are_diagnosed():
    spec = COURSE.assignment("conv")
    reference = _reference(spec)
    flipped = variant_module(spec, next(m for m in catalogue(spec) if m.name == "flipped-kernel"))
    (found,) = diagnose(spec, _conv_calls(flipped, range(4)), reference)
    assert found.startswith("Likely mistake: a true convolution") and found.endswith("(conv2d_forward)")


def test_a_second_bug_in_another_output_does_not_hide_the_first():
    """dw from one image (catalogued) and db halved (not): each call's (dx, dw, db) matches the
    variant where the mistake changes it (dw) but not as a whole; the mistake is still named."""
    spec = COURSE.assignment("conv")
    reference = _reference(spec)
    one_image = variant_module(spec, next(m for m in catalogue(spec) if m.name == "weight-gradient-from-one-image"))
    calls = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x, w, b = rng.standard_normal((3, 2, 6, 6)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
        dz = rng.standard_normal((3, 4, 4, 4))
        dx, dw, db = one_image.conv2d_backward(dz, x, w, b, stride=1, pad=0)
        calls.append(Call("conv2d_backward", (dz, x, w, b), {"stride": 1, "pad": 0}, (dx, dw, db / 2)))
    (found,) = diagnose(spec, calls, reference)
    assert found.startswith(next(m for m in catalogue(spec) if m.name == "weight-gradient-from-one-image").diagnosis)
    assert not explains((dx, dw, db / 2), reference.conv2d_backward(dz, x, w, b), reference.conv2d_backward(dz, x, w, b))


def test_close_compares_structure_dtype_and_values():
    a = np.arange(6.0).reshape(2, 3)
    assert close((a, [a]), [a, (a + 1e-12,)])
    assert not close(a, a.astype(np.float32)) and not close(a, a[:1]) and not close(a, a + 1)
    assert not close(Raised("ValueError"), a) and not close(a, Raised("ValueError"))
    assert close(Raised("ValueError"), Raised("ValueError"))


def test_diagnoses_round_trip_through_results_json():
    result = AssignmentResult("conv", "Convolution", [], diagnoses=["Likely mistake: x (f)"])
    assert result.to_dict()["diagnoses"] == ["Likely mistake: x (f)"]
    assert AssignmentResult.from_dict(result.to_dict(), []).diagnoses == ["Likely mistake: x (f)"]
    assert AssignmentResult.from_dict({"name": "conv"}, []).diagnoses == []

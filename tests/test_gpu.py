"""GPU grading through CuPy (runs only where a CUDA device is visible; skipped elsewhere)."""
import pytest

from grader.device import gpu_label
from grader.pipeline import GradeOptions, grade_submission
from grader.reports.results_json import results_dict
from tests.helpers import COURSE, make_submission

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(gpu_label() is None, reason="no CUDA device with CuPy")]


def test_reference_conv_scores_full_marks_on_the_gpu(tmp_path):
    folder = make_submission(tmp_path, "conv")
    data = results_dict(grade_submission(folder, COURSE, ["conv"], GradeOptions(device="gpu")))
    assert data["grader"]["device"].startswith("gpu")
    assert data["score"] == data["max_score"], [t["output"] for t in data["tests"] if t["status"] == "failed"]


def test_loops_fail_the_speed_test_on_the_gpu(tmp_path):
    folder = make_submission(tmp_path, "conv", append=(
        "\ndef conv2d_forward(x, w, b, stride=1, pad=0):\n"
        "    return conv2d_forward_naive(x, w, b, stride=stride, pad=pad)\n"))
    data = results_dict(grade_submission(folder, COURSE, ["conv"], GradeOptions(device="gpu", keyword="speed")))
    forward_speed = [t for t in data["tests"] if "speed" in t["tags"] and "conv2d_forward" in t["name"]]
    assert forward_speed and all(t["status"] == "failed" for t in forward_speed)

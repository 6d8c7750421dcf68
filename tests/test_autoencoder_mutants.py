"""Wrong-but-plausible autoencoders lose the tests of what they break; the reference earns
every point and its report shows digits and filters as PNG pictures."""
import base64

import helpers
import pytest
from helpers import COURSE, assignment_score, declared, grade, lost, make_submission, mistake_submission

from grader.pipeline import grade_submission

NAME = "autoencoder"

# The mutants are the catalogued mistakes (solutions/autoencoder/mistakes.py): edits and declared tests.


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tests(results, predicate):
    return [t for t in helpers.assignment_tests(results, NAME) if predicate(t)]


def _check_losses(results, must_lose, may_lose=()):
    """The mutant loses every point of `must_lose`, and nothing outside `must_lose` and
    `may_lose` (tests that train with the broken function and may or may not survive it)."""
    lost_numbers = set(_numbers(lost(results, NAME)))
    assert set(_numbers(must_lose)) <= lost_numbers
    assert lost_numbers <= set(_numbers(must_lose)) | set(_numbers(may_lose))
    assert all(t["score"] == 0 for t in must_lose)
    score, max_score = assignment_score(results, NAME)
    assert score <= max_score - sum(t["max_score"] for t in must_lose)


def _training(t):
    return "training" in t["tags"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("autoencoder-mutants")


def test_tied_gradient_without_decoder_use_loses_tied_gradient_tests(workdir):
    # With W' = W^T the weight matrix is used twice; this mutant keeps only the encoder's
    # contribution x^T delta_h and forgets the decoder's (h^T delta_out)^T.
    name = "tied-gradient-one-use"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: "gradient" in t["tags"] and (
        "tied" in t["tags"] or t["name"].endswith("[tied]")))
    assert len(must) == 4  # public tied check, hidden tied x 2 decoders, linear code tied
    _check_losses(results, must, _tests(results, _training))
    untied = _tests(results, lambda t: "untied" in t["tags"] or t["name"].endswith("[untied]"))
    assert all(t["score"] == t["max_score"] for t in untied)


def test_sign_error_in_sigmoid_decoder_derivative_loses_exactly_those_gradient_tests(workdir):
    # sigma'(a) written as x_hat (x_hat - 1) instead of x_hat (1 - x_hat): only the sigmoid
    # decoder's gradients change; no training test uses that decoder.
    name = "sigmoid-decoder-derivative-sign"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: "gradient" in t["tags"] and "sigmoid decoder" in t["name"])
    assert len(must) == 2  # tied and untied
    _check_losses(results, must)


def test_sign_error_in_decoder_weight_gradient_loses_every_gradient_test(workdir):
    name = "decoder-weight-gradient-sign"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: "gradient" in t["tags"])
    assert len(must) == 7
    _check_losses(results, must, _tests(results, _training))


def test_gaussian_noise_instead_of_masking_loses_corrupt_tests(workdir):
    name = "gaussian-instead-of-masking-noise"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: "corrupt" in t["tags"])
    assert len(must) == 5  # public basics, hidden fraction, independence, seeding, extremes
    # The denoising tests corrupt held-out digits themselves (trusted masking noise); an
    # autoencoder trained with Gaussian noise may or may not pass them.
    _check_losses(results, must, _tests(results, lambda t: "denoising" in t["tags"]))


def test_stack_trained_on_raw_input_loses_stack_tests(workdir):
    # Layer 2 is trained on the pixels again instead of layer 1's codes.
    name = "stack-layer-on-raw-input"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: "stack" in t["tags"])
    assert len(must) == 2
    # Fine-tuning starts from the stack, so those tests go down with it.
    _check_losses(results, must, _tests(results, lambda t: {"finetune", "pretraining"}
                                        & set(t["tags"])))


def test_loss_averaged_over_elements_loses_loss_and_gradient_tests(workdir):
    # 0.5 * mean(diff^2) with a gradient to match: every loss value and every gradient (checked
    # against the reference loss) is 1/D of the stated one; training with the D times smaller
    # steps may or may not still pass.
    name = "loss-mean-over-elements"
    sub = mistake_submission(workdir, NAME, name)
    results = grade(sub, [NAME])
    must = declared(results, NAME, name)
    assert must == _tests(results, lambda t: {"loss", "gradient"} & set(t["tags"]))
    assert len(must) == 9  # public loss and tied check, hidden loss value and 6 gradient checks
    _check_losses(results, must, _tests(results, _training))
    (assignment,) = [a for a in results["assignments"] if a["name"] == NAME]
    (diagnosis,) = assignment["diagnoses"]
    assert diagnosis.startswith(helpers.mistake(NAME, name).diagnosis + " (")


def test_frozen_encoder_in_finetuning_loses_only_the_encoder_update_test(workdir):
    # Fine-tuning only the softmax layer keeps the held-out accuracy above the threshold and still
    # beats a frozen random encoder: only the test that the encoders change catches it.
    name = "finetune-frozen-encoder"
    results = grade(mistake_submission(workdir, NAME, name), [NAME])
    must = declared(results, NAME, name)
    assert [t["name"] for t in must] == [t["name"] for t in _tests(results, lambda t: "the encoders' W_k and b_k change" in t["name"])]
    assert len(must) == 1
    _check_losses(results, must, _tests(results, lambda t: {"finetune", "training"} <= set(t["tags"])))
    (assignment,) = [a for a in results["assignments"] if a["name"] == NAME]
    (diagnosis,) = assignment["diagnoses"]
    assert diagnosis == helpers.mistake(NAME, name).diagnosis + " (finetune)"


def test_reference_full_marks_with_pictures(workdir):
    sub = make_submission(workdir, NAME, name="reference")
    result = grade_submission(sub, COURSE, assignments=[NAME])
    (assignment,) = result.assignments
    assert assignment.error is None
    assert assignment.score == assignment.max_score == 91
    pictures = {t.name: [a for a in t.attachments if a.kind == "png"] for t in assignment.tests}
    denoising = [name for name in pictures if "noise" in name and "held-out" in name]
    assert len(denoising) == 2
    for name in denoising + [n for n in pictures if "reconstructs the codes" in n]:
        assert len(pictures[name]) == 1, name
        assert base64.b64decode(pictures[name][0].data).startswith(b"\x89PNG\r\n\x1a\n")

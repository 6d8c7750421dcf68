"""Wrong-but-plausible autoencoders lose the tests of what they break; the reference earns
every point and its report shows digits and filters as PNG pictures. Also the trusted
helpers the autoencoder tests rely on: the digit loader and the PNG writer."""
import base64
import gzip
import struct
import zlib

import helpers
import numpy as np
import pytest
from helpers import COURSE, assignment_score, grade, lost, make_submission

from grader.datasets import digits as digits_module
from grader.datasets import load_digits, read_idx
from grader.pipeline import grade_submission
from grader.plots.images import digits_png, filters_png, png_bytes

NAME = "autoencoder"

# Reference lines the mutants edit.
TIED_SUM = 'grads["W"] = grads["W"] + grad_w_dec.T'
SIGMOID_DECODER_DERIVATIVE = "delta_out = delta_out * x_hat * (1.0 - x_hat)"
DECODER_WEIGHT_GRADIENT = "grad_w_dec = h.T @ delta_out"
MASK_LINES = ("    keep = as_generator(rng).random(x.shape) >= level\n"
              "    return x * xp.asarray(keep, dtype=x.dtype)")
NEXT_CODES = ('        codes, _ = ae_forward(codes, params, "sigmoid", '
              'train_kwargs.get("decoder", "linear"))\n')


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
    sub = make_submission(workdir, NAME, name="tied-one-use",
                          replace=((TIED_SUM, 'grads["W"] = grads["W"]'),))
    results = grade(sub, [NAME])
    must = _tests(results, lambda t: "gradient" in t["tags"] and (
        "tied" in t["tags"] or t["name"].endswith("[tied]")))
    assert len(must) == 4  # public tied check, hidden tied x 2 decoders, linear code tied
    _check_losses(results, must, _tests(results, _training))
    untied = _tests(results, lambda t: "untied" in t["tags"] or t["name"].endswith("[untied]"))
    assert all(t["score"] == t["max_score"] for t in untied)


def test_sign_error_in_sigmoid_decoder_derivative_loses_exactly_those_gradient_tests(workdir):
    # sigma'(a) written as x_hat (x_hat - 1) instead of x_hat (1 - x_hat): only the sigmoid
    # decoder's gradients change; no training test uses that decoder.
    sub = make_submission(workdir, NAME, name="decoder-derivative-sign", replace=((
        SIGMOID_DECODER_DERIVATIVE, "delta_out = delta_out * x_hat * (x_hat - 1.0)"),))
    results = grade(sub, [NAME])
    must = _tests(results, lambda t: "gradient" in t["tags"] and "sigmoid decoder" in t["name"])
    assert len(must) == 2  # tied and untied
    _check_losses(results, must)


def test_sign_error_in_decoder_weight_gradient_loses_every_gradient_test(workdir):
    sub = make_submission(workdir, NAME, name="decoder-weight-sign", replace=((
        DECODER_WEIGHT_GRADIENT, "grad_w_dec = -(h.T @ delta_out)"),))
    results = grade(sub, [NAME])
    must = _tests(results, lambda t: "gradient" in t["tags"])
    assert len(must) == 7
    _check_losses(results, must, _tests(results, _training))


def test_gaussian_noise_instead_of_masking_loses_corrupt_tests(workdir):
    sub = make_submission(workdir, NAME, name="gaussian-noise", replace=((MASK_LINES, (
        "    noise = as_generator(rng).standard_normal(x.shape)\n"
        "    return x + level * xp.asarray(noise, dtype=x.dtype)")),))
    results = grade(sub, [NAME])
    must = _tests(results, lambda t: "corrupt" in t["tags"])
    assert len(must) == 5  # public basics, hidden fraction, independence, seeding, extremes
    # The denoising tests corrupt held-out digits themselves (trusted masking noise); an
    # autoencoder trained with Gaussian noise may or may not pass them.
    _check_losses(results, must, _tests(results, lambda t: "denoising" in t["tags"]))


def test_stack_trained_on_raw_input_loses_stack_tests(workdir):
    # Layer 2 is trained on the pixels again instead of layer 1's codes.
    sub = make_submission(workdir, NAME, name="stack-raw-input", replace=((NEXT_CODES, ""),))
    results = grade(sub, [NAME])
    must = _tests(results, lambda t: "stack" in t["tags"])
    assert len(must) == 2
    # Fine-tuning starts from the stack, so those tests go down with it.
    _check_losses(results, must, _tests(results, lambda t: {"finetune", "pretraining"}
                                        & set(t["tags"])))


def test_reference_full_marks_with_pictures(workdir):
    sub = make_submission(workdir, NAME, name="reference")
    result = grade_submission(sub, COURSE, assignments=[NAME])
    (assignment,) = result.assignments
    assert assignment.error is None
    assert assignment.score == assignment.max_score == 89
    pictures = {t.name: [a for a in t.attachments if a.kind == "png"] for t in assignment.tests}
    denoising = [name for name in pictures if "noise" in name and "held-out" in name]
    assert len(denoising) == 2
    for name in denoising + [n for n in pictures if "reconstructs the codes" in n]:
        assert len(pictures[name]) == 1, name
        assert base64.b64decode(pictures[name][0].data).startswith(b"\x89PNG\r\n\x1a\n")


# grader.datasets.digits

def test_digits_split_is_deterministic_and_scaled():
    d = load_digits()
    assert d.X_train.shape == (1348, 64) and d.X_heldout.shape == (449, 64)
    assert d.image_shape == (8, 8) and d.n_features == 64
    assert 0.0 <= d.X_train.min() and d.X_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    again = digits_module._load_sklearn()
    assert np.array_equal(again.X_train, d.X_train) and np.array_equal(again.y_heldout, d.y_heldout)
    assert not d.X_train.flags.writeable


def test_digits_fast_path_equals_sklearn_load_digits():
    from sklearn.datasets import load_digits as sklearn_load_digits

    pixels, labels = digits_module._read_sklearn_digits()
    bunch = sklearn_load_digits()
    assert np.array_equal(pixels, bunch.data) and np.array_equal(labels, bunch.target)


def _idx_bytes(array, type_code):
    return (bytes([0, 0, type_code, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
            + array.astype(array.dtype.newbyteorder(">")).tobytes())


def _write_mnist(folder, rng, compress):
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images),
                            (f"{prefix}-labels-idx1-ubyte", labels)):
            data = _idx_bytes(array, 0x08)
            if compress:
                (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / stem).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_mnist_idx_files_selected_by_environment(tmp_path, monkeypatch, compress):
    images, labels = _write_mnist(tmp_path, np.random.default_rng(0), compress)
    monkeypatch.setenv("GRADER_MNIST_DIR", str(tmp_path))
    d = load_digits()
    assert d.X_train.shape == (12, 784) and d.X_heldout.shape == (5, 784)
    assert d.image_shape == (28, 28)
    assert np.array_equal(d.X_heldout, images.reshape(5, -1) / 255.0)
    assert np.array_equal(d.y_heldout, labels)


def test_read_idx_rejects_malformed_files(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(_idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)[:-1])
    with pytest.raises(digits_module.DatasetError):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(digits_module.DatasetError):
        read_idx(path)
    good = tmp_path / "good-idx"
    good.write_bytes(_idx_bytes(np.arange(-3, 3, dtype=np.int32).reshape(3, 2), 0x0C))
    assert np.array_equal(read_idx(good), np.arange(-3, 3).reshape(3, 2))


def test_missing_mnist_folder_is_a_clear_error(tmp_path):
    with pytest.raises(digits_module.DatasetError, match="train-images-idx3-ubyte"):
        load_digits(str(tmp_path))


# grader.plots.images

def _decode_png(data):
    """Minimal decoder for what png_bytes writes: 8-bit grayscale, filter 0 on every row."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + payload
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 0)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any()
    return rows[:, 1:]


def test_png_bytes_round_trip():
    image = np.array([[0.0, 0.5, 1.0], [2.0, -1.0, np.nan]])
    assert _decode_png(png_bytes(image)).tolist() == [[0, 128, 255], [255, 0, 0]]
    with pytest.raises(ValueError):
        png_bytes(np.zeros(3))


def test_digit_and_filter_grids_have_the_expected_size():
    rows = [np.full((4, 64), 1.0), np.zeros((3, 64))]
    picture = _decode_png(digits_png(rows, (8, 8), scale=2))
    # 2 rows x 4 columns of 16x16 tiles with 1-pixel borders
    assert picture.shape == (2 * 17 + 1, 4 * 17 + 1)
    assert picture[1, 1] == 255 and picture[18, 1] == 0
    filters = _decode_png(filters_png(np.random.default_rng(0).normal(size=(64, 10)), (8, 8)))
    assert filters.shape == (2 * 33 + 1, 8 * 33 + 1)

"""The digits the autoencoder tests use: sklearn's 8x8 digits offline, or MNIST IDX files."""
import gzip
import struct

import numpy as np
import pytest

from grader.datasets import digits as digits_module
from grader.datasets import load_digits, read_idx


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



"""Real handwritten digits, offline: scikit-learn's 8x8 digits or local MNIST IDX files.

Trusted side only (tests and scripts); the sandboxed student process never imports this,
the arrays reach student code as arguments.

- Default: ``sklearn.datasets.load_digits`` (1,797 images of 8x8 pixels shipped inside the
  scikit-learn wheel), pixels 0..16 scaled to [0, 1].
- ``GRADER_MNIST_DIR=/path`` selects the standard MNIST IDX files in that folder instead
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each optionally ``.gz``), pixels 0..255 scaled to [0, 1],
  28x28 images flattened to 784 features. Nothing is ever downloaded.

The split into training and held-out digits is deterministic: a fixed permutation
(seed ``SPLIT_SEED``) of the 8x8 digits; for MNIST the official train / t10k files.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MNIST_ENV = "GRADER_MNIST_DIR"
SPLIT_SEED = 20240531
HELDOUT_FRACTION = 0.25

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class DatasetError(RuntimeError):
    """The digit data could not be loaded (missing or malformed files)."""


@dataclass(frozen=True)
class Digits:
    """Digits split into training and held-out parts.

    X_* are float64 arrays (N, D) with values in [0, 1]; y_* are int64 labels (N,) in 0..9;
    image_shape is (height, width) with height * width = D.
    """
    X_train: np.ndarray
    y_train: np.ndarray
    X_heldout: np.ndarray
    y_heldout: np.ndarray
    image_shape: tuple[int, int]
    source: str

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return 10


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed when the name ends in .gz) into an array.

    The header is two zero bytes, a type code, the number of dimensions, then one
    big-endian uint32 per dimension. Raises DatasetError for a malformed file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated header")
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = int(np.prod(shape)) if ndim else 1
    if len(data) - header != count * dtype.itemsize:
        raise DatasetError(f"{path}: expected {count} items of {dtype.itemsize} bytes "
                           f"after the header, found {len(data) - header} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder}: no {stem}[.gz] (set by {MNIST_ENV})")


def _load_mnist(folder: Path) -> Digits:
    parts = {}
    for split, prefix in (("train", "train"), ("heldout", "t10k")):
        images = read_idx(_find_idx(folder, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.shape != (images.shape[0],):
            raise DatasetError(f"{folder}: {prefix} images {images.shape} and labels "
                               f"{labels.shape} do not match")
        parts[split] = (images.reshape(images.shape[0], -1).astype(np.float64) / 255.0,
                        labels.astype(np.int64))
        shape = images.shape[1:]
    return Digits(parts["train"][0], parts["train"][1], parts["heldout"][0],
                  parts["heldout"][1], (int(shape[0]), int(shape[1])), f"MNIST IDX files in {folder}")


def _sklearn_digits_file() -> Path | None:
    """Path of the digits table inside the installed scikit-learn, found without importing it.

    Importing scikit-learn costs seconds; the table (``datasets/data/digits.csv.gz``: 64
    pixel columns 0..16 and the label, one digit a row) is what ``load_digits`` reads.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _read_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    path = _sklearn_digits_file()
    if path is not None:
        table = np.loadtxt(path, delimiter=",")
        if table.ndim == 2 and table.shape[1] == 65:
            return table[:, :64], table[:, 64].astype(np.int64)
    # slow import (seconds): only when the table is not where it is expected
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def _load_sklearn() -> Digits:
    pixels, y = _read_sklearn_digits()
    X = pixels.astype(np.float64) / 16.0
    order = np.random.default_rng(SPLIT_SEED).permutation(X.shape[0])
    n_heldout = round(HELDOUT_FRACTION * X.shape[0])
    heldout, train = order[:n_heldout], order[n_heldout:]
    return Digits(X[train], y[train], X[heldout], y[heldout], (8, 8),
                  "scikit-learn load_digits (8x8)")


@lru_cache(maxsize=4)
def _load(mnist_dir: str | None) -> Digits:
    if mnist_dir:
        return _load_mnist(Path(mnist_dir))
    return _load_sklearn()


def load_digits(mnist_dir: str | None = None) -> Digits:
    """Load the digits (cached per process; do not modify the returned arrays).

    `mnist_dir` overrides the GRADER_MNIST_DIR environment variable; with neither set the
    scikit-learn 8x8 digits are used.
    """
    folder = mnist_dir if mnist_dir is not None else os.environ.get(MNIST_ENV) or None
    digits = _load(folder)
    for a in (digits.X_train, digits.y_train, digits.X_heldout, digits.y_heldout):
        a.flags.writeable = False
    return digits

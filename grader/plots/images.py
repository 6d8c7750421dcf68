"""Tiny grayscale PNG pictures from NumPy arrays (zlib + struct, no imaging library).

Used on the trusted side to show digits and learned filters in the HTML report:

    png = digits_png([clean, corrupted, reconstructed], (8, 8))
    attach.png("original / corrupted / reconstructed", png)

Every picture is built from validated float arrays; values are clipped to the display range,
NaN shows as black.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a 2-D array as an 8-bit grayscale PNG.

    `image` (H, W): uint8 values are used as they are; other numeric arrays are read as
    intensities in [0, 1] (clipped; NaN -> 0). Raises ValueError for an empty or non-2-D array.
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"png_bytes needs a non-empty 2-D array, got shape {image.shape}")
    if image.dtype != np.uint8:
        values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        image = np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    height, width = image.shape
    # filter type 0 (None) at the start of every scanline
    raw = np.concatenate([np.zeros((height, 1), np.uint8), image], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def image_grid(images: np.ndarray, image_shape: tuple[int, int], *, n_cols: int, scale: int = 4,
               pad: int = 1, background: float = 0.5) -> np.ndarray:
    """Tile flattened images (M, H*W) with values in [0, 1] into one 2-D picture.

    Images fill rows of `n_cols`, are separated by `pad` pixels of `background` and each
    pixel is enlarged to `scale` x `scale`. Returns a float array.
    """
    images = np.asarray(images, dtype=np.float64)
    height, width = image_shape
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(f"images must be (M, {height * width}), got {images.shape}")
    n_rows = max(1, -(-images.shape[0] // n_cols))
    cell_h, cell_w = height * scale + pad, width * scale + pad
    grid = np.full((n_rows * cell_h + pad, n_cols * cell_w + pad), background)
    for i, flat in enumerate(images):
        r, c = divmod(i, n_cols)
        tile = np.kron(flat.reshape(height, width), np.ones((scale, scale)))
        top, left = pad + r * cell_h, pad + c * cell_w
        grid[top:top + height * scale, left:left + width * scale] = tile
    return grid


def digits_png(rows: list[np.ndarray], image_shape: tuple[int, int], *, scale: int = 4) -> bytes:
    """PNG of several rows of digits, e.g. [original, corrupted, reconstructed].

    Each entry of `rows` is (M, H*W) with values in [0, 1]; all rows show the same M digits.
    """
    n_cols = max(np.asarray(r).shape[0] for r in rows)
    stacked = []
    for r in rows:
        r = np.asarray(r, dtype=np.float64)
        filler = np.full((n_cols - r.shape[0], r.shape[1]), 0.5)
        stacked.append(np.concatenate([r, filler]))
    return png_bytes(image_grid(np.concatenate(stacked), image_shape, n_cols=n_cols, scale=scale))


def filters_png(weights: np.ndarray, image_shape: tuple[int, int], *, n_cols: int = 8,
                scale: int = 4) -> bytes:
    """PNG of the first layer's filters: column k of `weights` (H*W, K) is one image.

    Each filter is scaled on its own so that 0 is mid-gray and its largest |weight| is black
    or white (negative dark, positive bright).
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (H*W, K), got shape {weights.shape}")
    filters = weights.T
    peak = np.abs(filters).max(axis=1, keepdims=True)
    shown = 0.5 + 0.5 * filters / np.where(peak > 0, peak, 1.0)
    return png_bytes(image_grid(shown, image_shape, n_cols=min(n_cols, filters.shape[0]),
                                scale=scale))

"""What may cross the boundary besides JSON scalars: plain numeric arrays (``.npy`` blobs, checked
before they are read) and random generators (their bit-generator state).

Copied into the sandbox next to ``child.py`` and ``wire.py``; standard library and numpy only.
"""
from __future__ import annotations

import functools
import io
import math

import numpy as np

NUMERIC_KINDS = "biufc"
# An .npy blob's prefix (magic, version, header length: 12 bytes at most) plus the header size
# numpy's own reader accepts (its max_header_size default): all load_array reads before checking.
_NPY_HEAD_BYTES = 12 + 10_000


class WireError(Exception):
    """A frame that does not follow the format (or exceeds a limit)."""


# -- encoding -----------------------------------------------------------------------------------


def load_array(blob) -> np.ndarray:
    """Read one ``.npy`` blob (any bytes-like) into a plain, numeric, owned ``numpy.ndarray``.

    The header is read on its own first; its shape times its item size must equal the bytes
    that follow it, so a header that lies about its size is refused before anything is allocated.
    """
    view = memoryview(blob).cast("B")
    shape, fortran, dtype, offset = _read_npy_header(bytes(view[:_header_end(view)]))
    count = math.prod(shape)
    if count * dtype.itemsize != len(view) - offset:
        raise WireError(f"array header announces {count} x {dtype.itemsize} bytes, "
                        f"the blob holds {len(view) - offset}")
    try:
        flat = np.frombuffer(view, dtype=dtype, count=count, offset=offset) if count else np.empty(0, dtype)
        arr = flat.reshape(shape, order="F" if fortran else "C")
        return np.array(arr, dtype=dtype.newbyteorder("="), copy=True)
    except Exception as exc:  # e.g. more dimensions than numpy supports
        raise WireError(f"unreadable array ({type(exc).__name__})") from None


def _header_end(view: memoryview) -> int:
    """Where an .npy blob's header ends, from its length field (version 1: 2 bytes at offset 8,
    version 2: 4 bytes), capped at _NPY_HEAD_BYTES; the header itself is checked by numpy."""
    if len(view) >= 10 and view[6] == 1:
        return min(10 + int.from_bytes(view[8:10], "little"), _NPY_HEAD_BYTES)
    if len(view) >= 12 and view[6] == 2:
        return min(12 + int.from_bytes(view[8:12], "little"), _NPY_HEAD_BYTES)
    return min(len(view), _NPY_HEAD_BYTES)   # numpy's reader says what is wrong with it


# numpy parses an .npy header (a Python literal) with ast.literal_eval: ~100 us, most of what
# reading a small array costs, and the arrays of one grading share a few dozen headers (a gradient
# check's ~140 replies have one). Parsing is a function of the header's bytes alone, so each
# distinct header (at most _NPY_HEAD_BYTES) is parsed once; a failure is not kept.
@functools.lru_cache(maxsize=512)
def _read_npy_header(header: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, data offset) of a plain numeric array's .npy header."""
    try:
        head = io.BytesIO(header)
        version = np.lib.format.read_magic(head)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"npy version {version}")
        shape, fortran, dtype = read_header(head)
    except Exception as exc:  # malformed bytes, an object or unknown dtype, a truncated header
        raise WireError(f"unreadable array ({type(exc).__name__})") from None
    if (dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None
            or dtype.hasobject):
        raise WireError(f"array of dtype {dtype} is not plain numeric data")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("array header has a malformed shape")
    return tuple(shape), bool(fortran), dtype, head.tell()


def make_generator(state: dict) -> np.random.Generator:
    name = state.get("bit_generator")
    if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
        raise WireError("unknown bit generator")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except Exception:
        raise WireError("invalid generator state") from None
    return np.random.Generator(bit_generator)

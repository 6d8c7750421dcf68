"""Wire format between the grader and the sandboxed child: plain data only.

This file is copied into the sandbox next to ``child.py``; it imports nothing from the grader.

A frame is ``MAGIC | u32 header length | JSON header | u32 blob count | (u64 length | .npy bytes)*``.
The JSON header holds the value with containers and special objects tagged:

- JSON scalars (None, bool, int, float incl. NaN/inf, str) are themselves;
- ``{"t": "list"|"tuple", "v": [...]}``, ``{"t": "dict", "v": [[key, value], ...]}`` (str keys);
- ``{"t": "array", "i": k}`` refers to blob k, an ``.npy`` file read with ``allow_pickle=False``;
- ``{"t": "rng", "state": {...}}`` is a ``numpy.random.Generator`` sent as its bit-generator state.

``decode`` is strict: anything else (an unknown tag, a non-numeric dtype, a too-deep or
too-large value) raises ``WireError``. Nothing is ever unpickled.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np

MAGIC = b"GRW1"
MAX_DEPTH = 32
MAX_ITEMS = 100_000
NUMERIC_KINDS = "biufc"


class WireError(Exception):
    """A frame that does not follow the format (or exceeds a limit)."""


def _encode_value(value, blobs: list[bytes], depth: int):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return _encode_value(value.item(), blobs, depth)
    if isinstance(value, np.random.Generator):
        return {"t": "rng", "state": value.bit_generator.state}
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        arr = _to_numpy(value)
        if arr.dtype.kind not in NUMERIC_KINDS or arr.dtype.fields is not None:
            raise WireError(f"array of dtype {arr.dtype} cannot cross (numeric dtypes only)")
        buf = io.BytesIO()
        np.save(buf, arr if arr.flags.c_contiguous else arr.copy(order="C"), allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"t": "array", "i": len(blobs) - 1}
    if isinstance(value, (list, tuple)):
        tag = "tuple" if isinstance(value, tuple) else "list"
        return {"t": tag, "v": [_encode_value(v, blobs, depth + 1) for v in value]}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise WireError(f"dict key {k!r} is not a string")
            items.append([k, _encode_value(v, blobs, depth + 1)])
        return {"t": "dict", "v": items}
    raise WireError(f"a value of type {type(value).__name__} cannot cross (plain data only)")


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        return np.asarray(value.get())
    return np.asarray(value)


def encode(message) -> bytes:
    blobs: list[bytes] = []
    header = json.dumps(_encode_value(message, blobs, 0)).encode()
    parts = [MAGIC, struct.pack("<I", len(header)), header, struct.pack("<I", len(blobs))]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


class _Decoder:
    def __init__(self, blobs: list[bytes]):
        self.blobs = blobs
        self.items = 0

    def value(self, node, depth: int):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise WireError("value too deep or too large")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise WireError("malformed value")
        tag = node["t"]
        if tag in ("list", "tuple") and isinstance(node.get("v"), list):
            items = [self.value(v, depth + 1) for v in node["v"]]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict" and isinstance(node.get("v"), list):
            out = {}
            for pair in node["v"]:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise WireError("malformed dict entry")
                out[pair[0]] = self.value(pair[1], depth + 1)
            return out
        if tag == "array" and type(node.get("i")) is int and 0 <= node["i"] < len(self.blobs):
            return load_array(self.blobs[node["i"]])
        if tag == "rng" and isinstance(node.get("state"), dict):
            return make_generator(node["state"])
        raise WireError(f"unknown or malformed tag {tag!r}")


def load_array(blob: bytes) -> np.ndarray:
    """Read one ``.npy`` blob into a plain, numeric, owned ``numpy.ndarray``."""
    try:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as exc:  # malformed bytes, object dtype, truncated data
        raise WireError(f"unreadable array ({type(exc).__name__})") from None
    if type(arr) is not np.ndarray or arr.dtype.kind not in NUMERIC_KINDS or arr.dtype.fields:
        raise WireError(f"array of dtype {arr.dtype} is not plain numeric data")
    return np.array(arr, copy=True)


def make_generator(state: dict) -> np.random.Generator:
    name = state.get("bit_generator")
    if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
        raise WireError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except Exception:
        raise WireError("invalid generator state") from None
    return np.random.Generator(bit_generator)


def decode(frame: bytes):
    """Decode one whole frame (as produced by ``encode``) into plain data."""
    view = memoryview(frame)
    if bytes(view[:4]) != MAGIC or len(view) < 12:
        raise WireError("bad frame header")
    (hlen,) = struct.unpack("<I", view[4:8])
    pos = 8 + hlen
    try:
        header = json.loads(bytes(view[8:pos]))
    except ValueError:
        raise WireError("header is not JSON") from None
    (count,) = struct.unpack("<I", view[pos:pos + 4])
    pos += 4
    blobs = []
    for _ in range(count):
        if pos + 8 > len(view):
            raise WireError("truncated frame")
        (blen,) = struct.unpack("<Q", view[pos:pos + 8])
        pos += 8
        if pos + blen > len(view):
            raise WireError("truncated frame")
        blobs.append(bytes(view[pos:pos + blen]))
        pos += blen
    if pos != len(view):
        raise WireError("trailing bytes after frame")
    return _Decoder(blobs).value(header, 0)


def read_frame(stream, limit: int) -> bytes:
    """Read one frame from a binary stream; ``EOFError`` at a clean end, ``WireError`` if over `limit`."""
    head = _read_exact(stream, 8)
    if head[:4] != MAGIC:
        raise WireError("bad frame header")
    (hlen,) = struct.unpack("<I", head[4:8])
    if hlen > limit:
        raise WireError("frame header over the size limit")
    parts = [head, _read_exact(stream, hlen)]
    count_bytes = _read_exact(stream, 4)
    parts.append(count_bytes)
    (count,) = struct.unpack("<I", count_bytes)
    total = hlen
    for _ in range(count):
        size_bytes = _read_exact(stream, 8)
        (blen,) = struct.unpack("<Q", size_bytes)
        total += blen
        if total > limit:
            raise WireError(f"reply larger than the limit of {limit} bytes")
        parts += [size_bytes, _read_exact(stream, blen)]
    return b"".join(parts)


def _read_exact(stream, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)

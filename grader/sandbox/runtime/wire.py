"""Wire format between the grader and the sandboxed child: plain data only.

This file is copied into the sandbox next to ``child.py``; it imports nothing from the grader
(standard library and numpy only).

A frame is ``MAGIC | u32 header length | JSON header | u32 blob count | (u64 length | .npy bytes)*``.
The JSON header holds the value with containers and special objects tagged:

- JSON scalars (None, bool, int, float incl. NaN/inf, str) are themselves;
- ``{"t": "list"|"tuple", "v": [...]}``, ``{"t": "dict", "v": [[key, value], ...]}`` (str keys);
- ``{"t": "array", "i": k}`` refers to blob k, an ``.npy`` file read with ``allow_pickle=False``;
- ``{"t": "rng", "state": {...}}`` is a ``numpy.random.Generator`` sent as its bit-generator state.

Decoding treats every frame as hostile. Each limit below is checked before the memory or time
it guards is spent (``read_frame`` refuses an oversized header or blob count before reading on,
``decode`` bounds the JSON nesting depth before parsing, ``load_array`` checks an ``.npy``
header against its blob's length before touching the data), so a frame costs the reader at
most a small multiple of its own size and time linear in it. Anything that does not follow the
format or exceeds a limit raises ``WireError`` (never ``RecursionError``, ``MemoryError`` or
``struct.error``). Nothing is ever unpickled.
"""
from __future__ import annotations

import functools
import io
import json
import struct

import numpy as np

if __package__:  # imported by the grader (grader.sandbox.runtime.wire)
    from .values import NUMERIC_KINDS, WireError, load_array, make_generator
else:            # imported next to child.py inside the sandbox
    from values import NUMERIC_KINDS, WireError, load_array, make_generator  # type: ignore[no-redef]

MAGIC = b"GRW1"

# Headers carry structure and scalars only; arrays travel as blobs. The largest legitimate
# header (an architecture table, a training-loss history, a generator state, a tuple of array
# references) is a few KB, so 1 MiB leaves ample room while bounding what parsing one header
# can cost the grader (measured: about 25 MB and 0.1-0.3 s for 1 MiB of ``[],[],...``).
MAX_HEADER_BYTES = 1 << 20
# Replies and requests carry a handful of arrays (three gradients, an autoencoder's parameters,
# a stack of layers); 10,000 is far above that and keeps the per-blob bookkeeping under a MB.
MAX_BLOBS = 10_000
# Nesting of values (lists in tuples in dicts ...): the student API nests two or three levels.
MAX_DEPTH = 32
# Values in one message (containers and scalars together), so decoding time stays bounded.
MAX_ITEMS = 100_000
# JSON nesting that MAX_DEPTH values can need: each value level adds at most three JSON levels
# (tag object, "v" list, [key, value] pair), plus three for a generator state. Checked before
# ``json.loads`` runs, so the (recursive) JSON parser never goes deeper than this.
MAX_JSON_DEPTH = 3 * (MAX_DEPTH + 1) + 3

_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_READ_CHUNK = 1 << 20  # read_frame reads a blob this much at a time: memory follows what arrived


class _Encoder:
    def __init__(self):
        self.blobs: list[bytes] = []
        self.items = 0

    def value(self, value, depth: int):
        self.items += 1
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if self.items > MAX_ITEMS:
            raise WireError(f"value has more than {MAX_ITEMS} items")
        if isinstance(value, str) and len(value) > MAX_HEADER_BYTES:
            raise WireError(f"a string of {len(value)} characters cannot cross (over {MAX_HEADER_BYTES})")
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, np.generic):
            return self.value(value.item(), depth)
        if isinstance(value, np.random.Generator):
            return {"t": "rng", "state": value.bit_generator.state}
        if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
            return self.array(_to_numpy(value))
        if isinstance(value, (list, tuple)):
            tag = "tuple" if isinstance(value, tuple) else "list"
            return {"t": tag, "v": [self.value(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, str):
                    raise WireError(f"dict key of type {type(k).__name__} is not a string")
                items.append([k, self.value(v, depth + 1)])
            return {"t": "dict", "v": items}
        raise WireError(f"a value of type {type(value).__name__} cannot cross (plain data only)")

    def array(self, arr: np.ndarray) -> dict:
        if arr.dtype.kind not in NUMERIC_KINDS or arr.dtype.fields is not None:
            raise WireError(f"array of dtype {arr.dtype} cannot cross (numeric dtypes only)")
        if len(self.blobs) >= MAX_BLOBS:
            raise WireError(f"more than {MAX_BLOBS} arrays in one message")
        arr = arr if arr.flags.c_contiguous else arr.copy(order="C")
        # the .npy header only; the data joins the frame without a copy of its own
        self.blobs.append((_npy_header(arr.dtype, arr.shape), memoryview(arr).cast("B") if arr.size else b""))
        return {"t": "array", "i": len(self.blobs) - 1}


@functools.lru_cache(maxsize=512)
def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """The .npy (version 1.0) header of a C-ordered array: written once per dtype and shape (a
    grading sends a few dozen distinct ones; writing one costs ~30 us)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                "fortran_order": False, "shape": shape})
    return head.getvalue()


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        return np.asarray(value.get())
    return np.asarray(value)


def encode(message) -> bytes:
    """One frame holding `message`; ``WireError`` if it is not plain data or exceeds a limit."""
    encoder = _Encoder()
    try:
        header = json.dumps(encoder.value(message, 0)).encode()
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:  # e.g. an int over 4300 digits
        raise WireError(f"value cannot be written ({type(exc).__name__})") from None
    if len(header) > MAX_HEADER_BYTES:
        raise WireError(f"header of {len(header)} bytes is over the limit of {MAX_HEADER_BYTES} "
                        "(arrays cross as arrays, not as lists)")
    parts = [MAGIC, _U32.pack(len(header)), header, _U32.pack(len(encoder.blobs))]
    for npy_header, data in encoder.blobs:
        parts += [_U64.pack(len(npy_header) + len(data)), npy_header, data]
    return b"".join(parts)   # the one copy of each array on the way out


# -- decoding -----------------------------------------------------------------------------------

class _Decoder:
    """Turns a parsed header into values. Recursion is bounded by MAX_DEPTH (checked on entry)."""

    def __init__(self, blobs: list[memoryview]):
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
        raise WireError("unknown or malformed tag")


def json_depth(text: bytes) -> int:
    """The deepest bracket nesting of a UTF-8 JSON text, outside strings, in linear time and
    memory (no parsing, no recursion). Exact for every prefix a JSON parser accepts."""
    if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:  # the usual small header
        return 0
    codes = np.frombuffer(text, dtype=np.uint8)
    # A quote opens or closes a string unless an odd run of backslashes precedes it. (In UTF-8
    # the bytes of quotes, backslashes and brackets never occur inside a multi-byte character.)
    index = np.arange(codes.size, dtype=np.int32)
    last_plain = np.maximum.accumulate(np.where(codes != ord("\\"), index, np.int32(-1)))
    quotes = np.flatnonzero(codes == ord('"'))
    before = quotes - 1
    run = np.where(before >= 0, before - last_plain[np.maximum(before, 0)], 0)
    toggles = np.zeros(codes.size, dtype=np.uint8)
    toggles[quotes[run % 2 == 0]] = 1
    outside = np.bitwise_xor.accumulate(toggles) == 0
    step = (((codes == ord("[")) | (codes == ord("{"))) & outside).astype(np.int32)
    step -= (((codes == ord("]")) | (codes == ord("}"))) & outside)
    return int(np.cumsum(step, dtype=np.int32).max())


def _parse_header(raw: bytes):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("header is not UTF-8") from None
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise WireError("header nested too deeply")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # ValueError: bad JSON, or an int over 4300 digits
        raise WireError("header is not JSON") from None


def decode(frame):
    """Decode one whole frame (bytes-like, as produced by ``encode``) into plain data."""
    view = memoryview(frame).cast("B")
    size = len(view)
    if size < 12 or bytes(view[:4]) != MAGIC:
        raise WireError("bad frame header")
    (hlen,) = _U32.unpack_from(view, 4)
    if hlen > MAX_HEADER_BYTES:
        raise WireError(f"frame header over the limit of {MAX_HEADER_BYTES} bytes")
    pos = 8 + hlen
    if pos + 4 > size:
        raise WireError("truncated frame")
    raw_header = bytes(view[8:pos])
    (count,) = _U32.unpack_from(view, pos)
    pos += 4
    if count > MAX_BLOBS:
        raise WireError(f"frame announces {count} arrays, over the limit of {MAX_BLOBS}")
    blobs = []
    for _ in range(count):
        if pos + 8 > size:
            raise WireError("truncated frame")
        (blen,) = _U64.unpack_from(view, pos)
        pos += 8
        if blen > size - pos:
            raise WireError("truncated frame")
        blobs.append(view[pos:pos + blen])
        pos += blen
    if pos != size:
        raise WireError("trailing bytes after frame")
    return _Decoder(blobs).value(_parse_header(raw_header), 0)


def read_frame(stream, limit: int) -> bytearray:
    """Read one frame from a binary stream; ``EOFError`` at a clean end, ``WireError`` if it is
    over `limit` bytes in all or over a header/blob-count limit.

    Each size field is checked before what it announces is read, so a frame that lies about
    its sizes costs only the bytes actually sent before the lie, never what it announced.
    """
    frame = bytearray()
    _read_into(stream, frame, 8)
    if bytes(frame[:4]) != MAGIC:
        raise WireError("bad frame header")
    (hlen,) = _U32.unpack_from(frame, 4)
    if hlen > MAX_HEADER_BYTES:
        raise WireError(f"frame header of {hlen} bytes is over the limit of {MAX_HEADER_BYTES}")
    if 8 + hlen + 4 > limit:
        raise WireError(f"reply larger than the limit of {limit} bytes")
    _read_into(stream, frame, hlen + 4)
    (count,) = _U32.unpack_from(frame, 8 + hlen)
    if count > MAX_BLOBS:
        raise WireError(f"frame announces {count} arrays, over the limit of {MAX_BLOBS}")
    for _ in range(count):
        if len(frame) + 8 > limit:
            raise WireError(f"reply larger than the limit of {limit} bytes")
        _read_into(stream, frame, 8)
        (blen,) = _U64.unpack_from(frame, len(frame) - 8)
        if blen > limit - len(frame):
            raise WireError(f"reply larger than the limit of {limit} bytes")
        _read_into(stream, frame, blen)
    return frame


def _read_into(stream, buffer: bytearray, n: int) -> None:
    """Append exactly `n` bytes from `stream` to `buffer`, at most _READ_CHUNK at a time."""
    while n:
        chunk = stream.read(min(n, _READ_CHUNK))
        if not chunk:
            raise EOFError("stream closed")
        buffer += chunk
        n -= len(chunk)

"""The wire format: plain data crosses intact; anything else is refused, nothing is unpickled."""
import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.sandbox.runtime import wire
from tests.strategies import plain_data


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@settings(max_examples=100, deadline=None)
@given(plain_data)
def test_plain_data_round_trips(value):
    assert same(value, wire.decode(wire.encode(value)))


def test_generator_crosses_as_its_state():
    rng = np.random.default_rng(7)
    copy = wire.decode(wire.encode(rng))
    assert np.array_equal(copy.standard_normal(5), np.random.default_rng(7).standard_normal(5))


def test_ndarray_subclass_arrives_as_plain_ndarray():
    class Rigged(np.ndarray):
        def __eq__(self, other):
            return True
    value = wire.decode(wire.encode(np.arange(3.0).view(Rigged)))
    assert type(value) is np.ndarray and not np.array_equal(value, np.zeros(3))


@pytest.mark.parametrize("value", [np.array([object()]), object(), {1: 2}, np.zeros(2, dtype=[("a", "f8")]),
                                   np.array(["text"])])
def test_non_plain_values_are_refused_when_sending(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


def frame(header: dict, blobs: list[bytes] = ()) -> bytes:
    head = json.dumps(header).encode()
    parts = [wire.MAGIC, struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def pickled_object_array() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize("bad", [
    frame({"t": "array", "i": 0}, [pickled_object_array()]),     # a pickle is never loaded
    frame({"t": "array", "i": 3}, []),                           # dangling blob reference
    frame({"t": "object", "v": "os.system"}),                    # unknown tag
    frame({"t": "rng", "state": {"bit_generator": "Evil"}}),     # unknown bit generator
    frame({"t": "dict", "v": [[1, 2]]}),                         # non-string key
    frame({"t": "array", "i": 0}, [b"not an npy file"]),
    b"XXXX" + b"\0" * 12,                                        # bad magic
    frame({"t": "list", "v": []}) + b"trailing",
])
def test_malformed_or_dangerous_frames_are_refused(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


def test_deep_nesting_is_refused():
    node = 1
    for _ in range(wire.MAX_DEPTH + 5):
        node = {"t": "list", "v": [node]}
    with pytest.raises(wire.WireError):
        wire.decode(frame(node))


def test_read_frame_enforces_the_size_limit():
    data = wire.encode(np.zeros(1000))
    with pytest.raises(wire.WireError):
        wire.read_frame(io.BytesIO(data), limit=1000)
    assert same(wire.decode(wire.read_frame(io.BytesIO(data), limit=10_000)), np.zeros(1000))


# -- hostile frames: every limit is checked before the memory or time it guards is spent ----------

class CappedStream(io.RawIOBase):
    """A stream that serves `data` then (optionally) endless filler, and fails the test if more than
    `cap` bytes are ever asked of it: proves a reader refused before reading what was announced."""

    def __init__(self, data: bytes, cap: int, filler: bytes = b""):
        self.data, self.cap, self.filler, self.served = data, cap, filler, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = len(buffer)
        assert self.served + n <= self.cap, f"reader asked for {self.served + n} bytes (cap {self.cap})"
        chunk = self.data[self.served:self.served + n]
        chunk += (self.filler * (n // max(len(self.filler), 1) + 1))[:n - len(chunk)] if self.filler else b""
        buffer[:len(chunk)] = chunk
        self.served += len(chunk)
        return len(chunk)


def head(header_len: int) -> bytes:
    return wire.MAGIC + struct.pack("<I", header_len)


def raw_frame(header: bytes, count: int, tail: bytes = b"") -> bytes:
    return head(len(header)) + header + struct.pack("<I", count) + tail


def refused_cheaply(make_call, max_seconds=1.0, max_bytes=8 << 20):
    """Run `make_call` expecting WireError; return (seconds, peak traced bytes) and check both."""
    import time
    import tracemalloc
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(wire.WireError):
            make_call()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < max_seconds and peak < max_bytes, (seconds, peak)
    return seconds, peak


def test_a_100000_deep_header_is_a_wire_error_not_a_recursion_error():
    deep = b"[" * 100_000 + b"]" * 100_000
    refused_cheaply(lambda: wire.decode(raw_frame(deep, 0)))
    deep_tags = b'{"t": "list", "v": [' * 50_000 + b"1" + b"]}" * 50_000
    refused_cheaply(lambda: wire.decode(raw_frame(deep_tags, 0)))
    # the same through read_frame (it is under the header cap, so it is read, then refused by decode)
    refused_cheaply(lambda: wire.decode(wire.read_frame(io.BytesIO(raw_frame(deep, 0)), limit=1 << 30)))


def test_the_deepest_legitimate_value_still_crosses():
    node = np.random.default_rng(3)
    for k in range(wire.MAX_DEPTH):  # the generator ends up exactly MAX_DEPTH levels down
        node = ({"k": node}, [node], (node, 1.5))[k % 3]
    assert wire.decode(wire.encode(node)) is not None
    with pytest.raises(wire.WireError):
        wire.encode([node])


def test_a_150_mb_header_is_refused_before_its_body_is_read():
    announced = 150 << 20
    stream = CappedStream(head(announced), cap=64, filler=b"[],")  # the body would be [],[],[],...
    seconds, peak = refused_cheaply(lambda: wire.read_frame(stream, limit=1 << 31), max_seconds=0.1,
                                    max_bytes=64 << 10)
    assert stream.served == 8


def test_a_header_just_over_the_cap_is_refused_by_decode_before_parsing():
    header = b"[" + b"[]," * (wire.MAX_HEADER_BYTES // 3) + b"[]]"
    assert len(header) > wire.MAX_HEADER_BYTES
    data = raw_frame(header, 0)
    refused_cheaply(lambda: wire.decode(data), max_seconds=0.05, max_bytes=64 << 10)


def test_a_header_at_the_cap_costs_bounded_time_and_memory():
    header = b"[" + b"[]," * (wire.MAX_HEADER_BYTES // 3 - 1) + b"[]]"
    assert len(header) <= wire.MAX_HEADER_BYTES
    seconds, peak = refused_cheaply(lambda: wire.decode(raw_frame(header, 0)), max_seconds=5.0,
                                    max_bytes=64 << 20)


def test_a_frame_announcing_2_32_minus_1_blobs_is_refused_at_once():
    header = json.dumps({"t": "list", "v": []}).encode()
    announced = raw_frame(header, 2**32 - 1)
    stream = CappedStream(announced, cap=len(announced), filler=b"\0")  # zero-length blobs forever
    refused_cheaply(lambda: wire.read_frame(stream, limit=1 << 31), max_seconds=0.1, max_bytes=64 << 10)
    assert stream.served == len(announced)
    refused_cheaply(lambda: wire.decode(announced + b"\0" * 8 * 1000), max_seconds=0.1, max_bytes=64 << 10)


def test_read_frame_never_reads_a_blob_over_the_limit():
    header = json.dumps({"t": "array", "i": 0}).encode()
    announced = raw_frame(header, 1, struct.pack("<Q", 2**63))
    stream = CappedStream(announced, cap=len(announced), filler=b"\0")
    refused_cheaply(lambda: wire.read_frame(stream, limit=1 << 31), max_seconds=0.1, max_bytes=64 << 10)


def npy_blob(header: dict, data: bytes = b"", version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    writer = np.lib.format.write_array_header_1_0 if version == (1, 0) else np.lib.format.write_array_header_2_0
    writer(buf, header)
    return buf.getvalue() + data


@pytest.mark.parametrize("header, data", [
    ({"descr": "<f8", "fortran_order": False, "shape": (10**12,)}, b"\0" * 64),   # lies: 8 TB announced
    ({"descr": "<f8", "fortran_order": False, "shape": (2**40, 2**40)}, b""),     # lies, product overflows int64
    ({"descr": "<f8", "fortran_order": False, "shape": (2,)}, b"\0" * 1000),      # more data than announced
    ({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"\0" * 8),        # negative dimension
    ({"descr": "|O", "fortran_order": False, "shape": (1,)}, b"\0" * 8),          # objects
    ({"descr": [("a", "<f8")], "fortran_order": False, "shape": (1,)}, b"\0" * 8),  # a record
    ({"descr": "<M8[s]", "fortran_order": False, "shape": (1,)}, b"\0" * 8),      # not numeric
])
def test_a_lying_or_non_numeric_npy_header_is_refused_before_allocating(header, data):
    blob = npy_blob(header, data)
    refused_cheaply(lambda: wire.load_array(blob), max_seconds=0.1, max_bytes=1 << 20)
    refused_cheaply(lambda: wire.decode(frame({"t": "array", "i": 0}, [blob])), max_seconds=0.1, max_bytes=1 << 20)


def test_an_honest_npy_blob_loads_as_a_plain_owned_native_array():
    for arr in (np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6).reshape(2, 3)),
                np.arange(4, dtype=">f4"), np.zeros((0, 2**40)), np.array(3 + 4j)):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        got = wire.load_array(buf.getvalue())
        assert type(got) is np.ndarray and got.flags.owndata and got.dtype.isnative
        assert got.shape == arr.shape and np.array_equal(got, arr)


@pytest.mark.parametrize("bad", [
    head(100) + b"{}",                                        # header longer than the frame
    raw_frame(b"{}", 1, struct.pack("<Q", 10**6) + b"x"),     # blob longer than the frame
    raw_frame(b"{}", 1, b"\x01\x02"),                         # truncated blob length
    raw_frame(b'{"t": "list", "v": []}', 0)[:-2],             # truncated count
    raw_frame(b"\xff\xfe[\x00]\x00", 0),                      # not UTF-8
    raw_frame(b"1" * 5000, 0),                                # an int over 4300 digits
    raw_frame(b'"' + b"\\" * 101 + b'"', 0),                  # an unterminated string
])
def test_truncated_or_garbled_frames_raise_wire_errors_only(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


@settings(max_examples=300, deadline=None)
@given(plain_data, st.data())
def test_mutated_frames_decode_or_raise_wire_error(value, data):
    good = bytearray(wire.encode({"id": 1, "ok": value}))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(good) - 1))
        good[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    try:
        wire.decode(bytes(good[:cut]) if data.draw(st.booleans()) else bytes(good))
    except wire.WireError:
        pass


def test_encode_refuses_what_decode_would_refuse():
    with pytest.raises(wire.WireError):
        wire.encode("x" * (wire.MAX_HEADER_BYTES + 1))          # checked before json.dumps runs
    with pytest.raises(wire.WireError):
        wire.encode(["\0" * (wire.MAX_HEADER_BYTES // 4)])     # escapes grow it over the cap
    with pytest.raises(wire.WireError):
        wire.encode([np.zeros(1)] * (wire.MAX_BLOBS + 1))
    with pytest.raises(wire.WireError):
        wire.encode(list(range(wire.MAX_ITEMS + 1)))
    with pytest.raises(wire.WireError):
        wire.encode(10 ** 5000)


def test_the_size_limit_counts_the_whole_frame():
    data = wire.encode([np.zeros(100)] * 3)
    with pytest.raises(wire.WireError):
        wire.read_frame(io.BytesIO(data), limit=len(data) - 1)
    assert len(wire.read_frame(io.BytesIO(data), limit=len(data))) == len(data)

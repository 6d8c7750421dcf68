"""The wire format: plain data crosses intact; anything else is refused, nothing is unpickled."""
import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings

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

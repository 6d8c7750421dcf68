"""The trusted pictures in reports: SVG line charts (init curves), PNG grids (autoencoder)."""
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from grader.plots import line_chart
from grader.plots.images import digits_png, filters_png, png_bytes

SVG_NS = "{http://www.w3.org/2000/svg}"


# grader.plots.line_chart draws the curves of the init report.

def test_line_chart_escapes_text():
    svg = line_chart({"<script>alert(1)</script>": [1.0, 2.0]}, title='a & "b"', x_label="<x>",
                     y_label="y'", log_y=False)
    root = ET.fromstring(svg)  # well-formed XML despite the markup characters
    texts = [el.text for el in root.iter() if el.text]
    assert "<script>alert(1)</script>" in texts and 'a & "b"' in texts
    assert "<script>" not in svg


def test_line_chart_log_scale_leaves_gaps_for_non_positive_values():
    svg = line_chart({"s": [1.0, 0.1, 0.0, float("nan"), 1e-4, 1e-5]}, title="t", x_label="x",
                     y_label="y", log_y=True)
    root = ET.fromstring(svg)
    lines = root.findall(f".//{SVG_NS}polyline")
    assert [len(p.get("points").split()) for p in lines] == [2, 2]  # two runs around the gap
    assert len(root.findall(f".//{SVG_NS}circle")) == 4
    labels = {el.text for el in root.iter(SVG_NS + "text")}
    assert {"1e-5", "0.001", "1"} <= labels


def test_line_chart_without_drawable_values_says_so():
    svg = line_chart({"zeros": [0.0, 0.0]}, title="t", x_label="x", y_label="y", log_y=True)
    assert "no drawable values" in svg
    ET.fromstring(svg)


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


@pytest.mark.parametrize("log_y", [True, False])
def test_line_chart_clamps_values_it_cannot_draw(log_y):
    """5e-324 on a log axis (its decade is 10**-324 == 0.0) and +-1e308 on a linear one draw."""
    for values in ([5e-324, 1e-3, 1.0], [1e308, -1e308, 1.0], [5e-324, 1e308, float("inf")]):
        svg = line_chart({"s": values, "r": [1.0, 1.0, 1.0]}, title="t", x_label="x", y_label="y", log_y=log_y)
        root = ET.fromstring(svg)
        assert "nan" not in svg.lower() and root.findall(f".//{SVG_NS}polyline")


def test_line_chart_draws_the_band_and_the_failing_series_as_failing():
    svg = line_chart({"reference": [1.0, 0.5], "yours": [0.1, 0.01]}, title="t", x_label="x", y_label="y",
                     log_y=True, band=("accepted", [0.5, 0.25], [2.0, 1.0]), failing=["yours"])
    root = ET.fromstring(svg)
    assert len(root.findall(f".//{SVG_NS}polygon")) == 1
    labels = [el.text for el in root.iter(SVG_NS + "text")]
    assert "yours (failed)" in labels and "reference" in labels and "accepted" in labels
    strokes = [p.get("stroke") for p in root.iter(SVG_NS + "polyline")]
    assert strokes == ["#0072B2", "#cf222e"]

"""The trusted pictures in reports: SVG line charts (init curves)."""
import xml.etree.ElementTree as ET

from grader.plots import line_chart

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

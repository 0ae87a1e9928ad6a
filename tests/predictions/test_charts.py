"""Server-side SVG charts: well-formed, escaped, accessible, nothing fetched."""
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from predictions.charts import bar_chart_svg, line_chart_svg, reliability_diagram_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    root = ElementTree.fromstring(str(svg))  # noqa: S314 (our own output)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    assert "http" not in str(svg).replace('xmlns="http://www.w3.org/2000/svg"', "")
    return root


def at(hour):
    return datetime(2026, 11, 24, tzinfo=UTC) + timedelta(hours=hour)


def test_line_chart_draws_the_points_and_leaves_gaps_for_missing_values():
    root = parse(line_chart_svg([(at(0), 0.9), (at(1), None), (at(2), 0.8), (at(3), 0.7)],
                                title="Accuracy", y_min=0, y_max=1))
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [1, 2]
    assert len(root.findall(f"{SVG}circle")) == 3
    assert "latest 0.700" in root.find(f"{SVG}desc").text


def test_line_chart_puts_higher_values_higher():
    root = parse(line_chart_svg([(at(0), 0.2), (at(1), 0.9)], title="x", y_min=0, y_max=1))
    (low, high) = [float(c.get("cy")) for c in root.findall(f"{SVG}circle")]
    assert high < low  # SVG y grows downwards


def test_line_chart_without_data_says_so():
    root = parse(line_chart_svg([(at(0), None)], title="ECE"))
    assert "No data yet" in "".join(root.itertext())


def test_line_chart_with_a_single_point():
    root = parse(line_chart_svg([(at(0), 0.5)], title="one"))
    assert len(root.findall(f"{SVG}circle")) == 1


def test_reliability_diagram_has_one_bar_per_bin_and_the_diagonal():
    bins = [
        {"bin": 5, "bin_range": "[0.50, 0.60)", "count": 4, "mean_confidence": 0.55,
         "accuracy": 0.5, "gap": 0.05},
        {"bin": 9, "bin_range": "[0.90, 1.00]", "count": 10, "mean_confidence": 0.95,
         "accuracy": 0.8, "gap": 0.15},
    ]
    root = parse(reliability_diagram_svg(bins))
    bars = [r for r in root.findall(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert len(bars) == 2
    assert float(bars[1].get("height")) > float(bars[0].get("height"))
    assert root.find(f"{SVG}line[@class='chart-diagonal']") is not None


def test_bar_chart_marks_bars_over_the_threshold_and_escapes_labels():
    svg = bar_chart_svg(["age", "<b>income</b>", "skipped"], [0.05, 0.31, None],
                        threshold=0.2, title="PSI per feature")
    root = parse(svg)
    bars = [r for r in root.findall(f"{SVG}rect") if "chart-bar" in r.get("class", "")]
    assert [b.get("class") for b in bars] == ["chart-bar", "chart-bar over"]
    assert root.find(f"{SVG}line[@class='chart-threshold']") is not None
    assert "<b>" not in str(svg) and "&lt;b&gt;income" in str(svg)
    assert "n/a" in "".join(root.itertext())


def test_vertical_bar_chart():
    root = parse(bar_chart_svg(["a", "b"], [1.0, 3.0], orientation="vertical", title="t"))
    bars = [r for r in root.findall(f"{SVG}rect") if "chart-bar" in r.get("class", "")]
    assert float(bars[1].get("height")) == pytest.approx(3 * float(bars[0].get("height")), abs=0.1)


def test_bar_chart_refuses_mismatched_input():
    with pytest.raises(ValueError):
        bar_chart_svg(["a"], [1, 2])
    with pytest.raises(ValueError):
        bar_chart_svg(["a"], [1], orientation="diagonal")


def test_each_chart_gets_its_own_ids():
    first, second = line_chart_svg([], title="a"), line_chart_svg([], title="b")
    assert parse(first).get("aria-labelledby") != parse(second).get("aria-labelledby")


def test_line_chart_from_zero_ends_on_a_round_number():
    root = parse(line_chart_svg([(at(0), 0.05), (at(1), 0.11)], title="ECE", y_min=0))
    ticks = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "chart-tick"]
    assert ticks[:5] == ["0.000", "0.050", "0.100", "0.150", "0.200"]

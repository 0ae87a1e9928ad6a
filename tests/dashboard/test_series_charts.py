"""The series chart: whole-range axis, gaps, threshold lines, alert markers, escaping."""
import re
from datetime import UTC, datetime, timedelta

from predictions.series_charts import Marker, Secondary, Threshold, series_chart_svg

START = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def chart(values, **kwargs):
    points = [(START + i * HOUR, value) for i, value in enumerate(values)]
    return str(series_chart_svg(points, start=START, end=START + len(values) * HOUR, step=HOUR,
                                title="Accuracy <v1>", **kwargs))


def test_none_buckets_break_the_line_and_a_lone_bucket_is_a_dot():
    svg = chart([0.9, 0.8, None, None, 0.7, 0.75, None, 0.6])
    assert svg.count('<polyline class="chart-line"') == 2
    assert svg.count('r="2.5"') == 1  # the lone last bucket
    assert 'data-points="8"' in svg and 'data-known="5"' in svg


def test_thresholds_and_markers_are_drawn_and_escaped():
    svg = chart([0.9, 0.8, 0.85], y_max=1.0,
                thresholds=[Threshold(0.7, "Low <accuracy>: < 0.7")],
                markers=[Marker(START + 90 * timedelta(minutes=1), "alert <b>")])
    assert svg.count('class="chart-threshold"') == 1
    assert "Low &lt;accuracy&gt;: &lt; 0.7" in svg and "<accuracy>" not in svg
    assert svg.count('class="chart-marker"') == 1 and "alert &lt;b&gt;" in svg
    assert "Accuracy &lt;v1&gt;" in svg


def test_a_threshold_above_the_data_stretches_the_axis():
    svg = chart([10.0, 12.0], y_min=0.0, thresholds=[Threshold(80.0, "slow")])
    ticks = [float(t) for t in re.findall(r'dominant-baseline="middle">([\d.]+)</text>', svg)]
    assert max(ticks) >= 80.0


def test_no_data_still_draws_the_frame_and_the_thresholds():
    svg = chart([None, None, None], thresholds=[Threshold(0.5, "half")], y_max=1.0)
    assert "No data in this range" in svg and 'class="chart-threshold"' in svg


def test_secondary_share_on_its_own_axis():
    svg = chart([3, 0, 4], secondary=Secondary(
        [(START, 0.5), (START + HOUR, None), (START + 2 * HOUR, 1.0)], "coverage",
        thresholds=[Threshold(0.4, "coverage low")]))
    assert "100%" in svg and svg.count("chart-secondary") >= 2
    assert "coverage low" in svg


def test_x_axis_labels_follow_the_range():
    day = chart([0.5] * 24)
    assert re.findall(r'chart-x-tick"[^>]*>([^<]+)<', day)[:2] == ["00:00", "06:00"]
    week = chart([0.5] * 24 * 7)
    assert re.findall(r'chart-x-tick"[^>]*>([^<]+)<', week)[:2] == ["03-01", "03-03"]

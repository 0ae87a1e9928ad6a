"""The API's JSON writer: orjson's speed, DRF's bytes."""
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from monitoring_site.api.renderers import FastJSONRenderer

VALUES = [
    {"start": datetime(2026, 11, 2, 6, tzinfo=UTC), "n": 3, "f": 0.1 + 0.2, "none": None},
    {"micro": datetime(2026, 11, 2, 6, 0, 0, 123456, tzinfo=UTC)},
    {"fixed_zero": datetime(2026, 1, 1, tzinfo=timezone(timedelta(0)))},
    {"zoneinfo_utc": datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))},
    {"paris": datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))},
    {"naive": datetime(2026, 1, 1, 3, 4, 5), "day": date(2026, 1, 2)},
    {"early": datetime(523, 10, 7, 6, tzinfo=UTC)},
    {"text": "Orléans \u2028 line \u2029 para \" \\ \x1f", "list": [1, 2.5, True, False, []]},
    {"tiny": 5e-324, "big": 1.7976931348623157e308, "neg": -0.0, "int": 2**63 - 1},
    [{"nested": {"deep": [{"x": 1}]}}],
    # Not orjson's: written by DRF's encoder instead.
    {"decimal": Decimal("1.10")},
    {"lazy": gettext_lazy("Not found.")},
    {1: "non-text key"},
    {"huge": 2**70},
]


@pytest.mark.parametrize("data", VALUES)
def test_bytes_equal_drfs(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indented_answer_is_drfs():
    media = "application/json; indent=2"
    data = {"a": [1, {"b": datetime(2026, 1, 1, tzinfo=UTC)}]}
    assert FastJSONRenderer().render(data, media) == JSONRenderer().render(data, media)
    assert b"\n  " in FastJSONRenderer().render(data, media)


def test_no_data_is_an_empty_body():
    assert FastJSONRenderer().render(None) == b""

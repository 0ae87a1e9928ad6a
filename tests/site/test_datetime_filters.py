"""`since`/`until` on the API lists: any ISO 8601 offset works, nonsense is a named 400."""
from datetime import UTC, datetime, timedelta

import pytest

from alerting.models import Alert

LISTS = ["/api/v1/alerts/", "/api/v1/actions/", "/api/v1/retraining-decisions/",
         "/api/v1/drift-reports/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
def test_date_out_of_range_after_utc_is_a_400_naming_since(api_client_for, path):
    response = api_client_for().get(f"{path}?since=0001-01-01T00:00:00%2B23:59")
    assert response.status_code == 400
    assert response.json() == {"since": ["Date-time out of range."]}


@pytest.mark.django_db
def test_offset_beyond_postgresql_range_filters_by_the_same_instant(api_client_for):
    moment = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    Alert.objects.create(alert_id="before", severity="info", title="t", message="m",
                         timestamp=moment - timedelta(seconds=1))
    Alert.objects.create(alert_id="at", severity="info", title="t", message="m",
                         timestamp=moment)
    # 12:00 UTC written at +18:10 (PostgreSQL itself accepts offsets up to ±15:59 only).
    since = "2026-11-25T06:10:00%2B18:10"
    response = api_client_for().get(f"/api/v1/alerts/?since={since}")
    assert response.status_code == 200
    assert [a["alert_id"] for a in response.json()["results"]] == ["at"]

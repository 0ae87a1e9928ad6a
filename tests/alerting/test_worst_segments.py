"""A performance alert names where the model fails: its version's worst segments (SPEC §13),
stored when it fires, shown on its page, in its notifications and over the API."""
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from alerting.models import Alert
from alerting.monitor import run_monitor_pass
from predictions.models import Prediction
from tests.conftest import store_predictions

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def add_country_rows(now, version="v1", failing="NL", per_country=40):
    """Predictions right everywhere except in one country, where every one is wrong."""
    rows = []
    for country in ("DE", "FR", "IT", failing, "ES"):
        for i in range(per_country):
            actual = i % 2
            predicted = 1 - actual if country == failing else actual
            if country == "ES" and i % 4 == 0:
                predicted = 1 - actual  # a little wrong, not the worst
            rows.append(Prediction(
                prediction_id=f"w{next(_ids):07d}", model_version=version,
                timestamp=now - timedelta(minutes=30, seconds=i), predicted_outcome=predicted,
                confidence=0.8, actual_outcome=actual,
                features={"country": country, "amount": float(i)},
                metadata={"channel": "web" if i % 2 else "app"},
            ))
    rows += [Prediction(  # a country with too few labels to be named, all wrong
        prediction_id=f"w{next(_ids):07d}", model_version=version,
        timestamp=now - timedelta(minutes=30), predicted_outcome=1, confidence=0.8,
        actual_outcome=0, features={"country": "LU"}, metadata={"channel": "web"},
    ) for _ in range(5)]
    store_predictions(rows)


def test_a_model_failing_for_one_country_lists_that_country_first(make_rule, tmp_path, settings):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    now = timezone.now()
    add_country_rows(now)
    make_rule(metric_name="accuracy", threshold=0.9, comparison="<", channels=["file"])
    result = run_monitor_pass(window_minutes=60, now=now)
    assert len(result.alerts_fired) == 1
    alert = Alert.objects.get()
    worst = alert.worst_segments
    assert worst[0] == {"key": "country", "value": "NL", "n": 40, "num_with_outcome": 40,
                        "accuracy": 0.0}
    assert len(worst) == 5
    assert [s["accuracy"] for s in worst] == sorted(s["accuracy"] for s in worst)
    assert {"key": "country", "value": "ES", "n": 40, "num_with_outcome": 40,
            "accuracy": 0.75} in worst
    assert {s["key"] for s in worst} == {"country", "channel"}  # amount: 5 rows a value
    assert all(s["value"] != "LU" for s in worst)  # 5 labelled rows: fewer than 20
    log = (tmp_path / "alert_log.txt").read_text()
    assert "Worst segments: country=NL accuracy 0.0000 (40 labelled); channel=" in log


def test_label_free_alerts_have_no_segments(make_rule):
    now = timezone.now()
    add_country_rows(now)
    make_rule(metric_name="num_predictions", threshold=1000, comparison="<")
    run_monitor_pass(window_minutes=60, now=now)
    assert Alert.objects.get().worst_segments == []


def test_the_alert_page_and_the_api_show_the_worst_segments(make_rule, client, make_user,
                                                             api_client_for):
    now = timezone.now()
    add_country_rows(now)
    make_rule(metric_name="accuracy", threshold=0.9, comparison="<")
    run_monitor_pass(window_minutes=60, now=now)
    alert = Alert.objects.get()
    client.force_login(make_user())
    page = client.get(f"/alerts/{alert.alert_id}/").content.decode()
    assert "Worst segments when it fired" in page
    assert page.index("<td>NL</td>") < page.index("<td>ES</td>")
    body = api_client_for().get(f"/api/v1/alerts/{alert.alert_id}/").json()
    assert body["worst_segments"][0]["value"] == "NL"

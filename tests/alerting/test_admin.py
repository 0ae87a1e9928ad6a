"""The admin: rule editing with validation, enable/disable, alert actions, big tables."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from alerting.choices import AlertStatus
from alerting.forms import AlertRuleForm
from alerting.models import Alert, AlertRule, Delivery
from predictions.admin.records import CappedCountPaginator
from predictions.models import HealthSnapshot, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(db):
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


def rule_form_data(**overrides):
    data = {
        "rule_id": "low-accuracy",
        "name": "Low accuracy",
        "description": "",
        "metric_name": "accuracy",
        "comparison": "<",
        "threshold": "0.8",
        "severity": "warning",
        "component": "performance",
        "model_version": "",
        "enabled": "on",
        "cooldown_minutes": "30",
        "channels": ["console", "file"],
        "min_value": "",
        "max_value": "",
        "min_samples": "50",
        "webhook_url": "",
    }
    data.update(overrides)
    return data


def test_add_rule_in_admin_stores_channels_and_conditions(admin_client_for):
    response = admin_client_for.post("/admin/alerting/alertrule/add/", rule_form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get(rule_id="low-accuracy")
    assert rule.channels == ["console", "file"]
    assert rule.conditions == {"min_samples": 50}
    assert rule.threshold == 0.8 and rule.cooldown_minutes == 30


def test_min_value_above_max_value_is_refused_with_a_clear_message(admin_client_for):
    response = admin_client_for.post(
        "/admin/alerting/alertrule/add/", rule_form_data(min_value="0.9", max_value="0.1")
    )
    assert response.status_code == 200
    assert not AlertRule.objects.exists()
    form = response.context["adminform"].form
    assert "min_value (0.9) must not exceed max_value (0.1)." in form.errors["min_value"][0]
    assert "must not exceed" in response.content.decode()


def test_webhook_channel_needs_a_url(admin_client_for):
    response = admin_client_for.post(
        "/admin/alerting/alertrule/add/", rule_form_data(channels=["webhook"])
    )
    assert response.status_code == 200
    assert not AlertRule.objects.exists()
    assert "webhook_url is required" in response.context["adminform"].form.errors["webhook_url"][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("threshold", "abc"), ("threshold", "inf"), ("min_samples", "-1"),
     ("min_value", "x"), ("webhook_url", "not a url"), ("comparison", "=~"),
     ("metric_name", "latency"), ("channels", ["pager"]), ("cooldown_minutes", "-5")],
)
def test_bad_values_are_refused_field_by_field(field, value):
    form = AlertRuleForm(data=rule_form_data(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


def test_editing_a_rule_shows_its_conditions_and_keeps_them(admin_client_for, make_rule):
    rule = make_rule(channels=["webhook"],
                     conditions={"webhook_url": "http://127.0.0.1:9/hook", "max_value": 0.9})
    page = admin_client_for.get(f"/admin/alerting/alertrule/{rule.pk}/change/").content.decode()
    assert 'value="http://127.0.0.1:9/hook"' in page and 'value="0.9"' in page
    data = rule_form_data(rule_id=rule.rule_id, threshold="0.65", channels=["webhook"],
                          webhook_url="http://127.0.0.1:9/hook", max_value="0.9", min_samples="")
    response = admin_client_for.post(f"/admin/alerting/alertrule/{rule.pk}/change/", data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 0.65
    assert rule.conditions == {"webhook_url": "http://127.0.0.1:9/hook", "max_value": 0.9}


def test_enable_and_disable_actions_report_how_many_changed(admin_client_for, make_rule):
    on, off = make_rule(enabled=True), make_rule(enabled=False)
    response = admin_client_for.post(
        "/admin/alerting/alertrule/",
        {"action": "disable_rules", "_selected_action": [on.pk, off.pk]}, follow=True,
    )
    assert "1 rule disabled." in response.content.decode()
    assert not AlertRule.objects.filter(enabled=True).exists()
    response = admin_client_for.post(
        "/admin/alerting/alertrule/",
        {"action": "enable_rules", "_selected_action": [on.pk, off.pk]}, follow=True,
    )
    assert "2 rules enabled." in response.content.decode()


def test_rule_list_shows_enabled_toggle_and_last_triggered(admin_client_for, make_rule):
    make_rule()
    page = admin_client_for.get("/admin/alerting/alertrule/").content.decode()
    assert 'name="form-0-enabled"' in page and "Last triggered" in page


def test_acknowledge_action_records_the_admin_user(admin_client_for, make_alert):
    first, second = make_alert(), make_alert()
    Alert.objects.filter(pk=second.pk).update(acknowledged=True, acknowledged_by="ann")
    response = admin_client_for.post(
        "/admin/alerting/alert/",
        {"action": "acknowledge_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 alert acknowledged. 1 already acknowledged." in page
    first.refresh_from_db(), second.refresh_from_db()
    assert first.acknowledged_by == "root" and first.status == AlertStatus.ACKNOWLEDGED
    assert second.acknowledged_by == "ann"


def test_resolve_action_records_the_admin_user(admin_client_for, make_alert):
    alerts = [make_alert(), make_alert()]
    response = admin_client_for.post(
        "/admin/alerting/alert/",
        {"action": "resolve_selected", "_selected_action": [a.pk for a in alerts]},
        follow=True,
    )
    assert "2 alerts resolved." in response.content.decode()
    assert set(Alert.objects.values_list("resolved_by", flat=True)) == {"root"}


def test_alert_measured_fields_are_read_only(admin_client_for, make_alert):
    alert = make_alert(metric_value=0.65)
    Delivery.objects.create(alert=alert, channel="email", status="failed", last_error="SMTP down")
    url = f"/admin/alerting/alert/{alert.pk}/change/"
    page = admin_client_for.get(url).content.decode()
    assert 'name="metric_value"' not in page and 'name="severity"' not in page
    assert "SMTP down" in page  # the deliveries inline
    admin_client_for.post(url, {"metric_value": "0.99", "severity": "info",
                                "deliveries-TOTAL_FORMS": "0",
                                "deliveries-INITIAL_FORMS": "1"})
    alert.refresh_from_db()
    assert alert.metric_value == 0.65 and alert.severity == "warning"


def test_alert_list_filters_search_and_date_drilldown(admin_client_for, make_alert):
    make_alert(model_version="v7", title="PERFORMANCE: accuracy Alert")
    client = admin_client_for
    for query in ["severity__exact=warning", "status__exact=open", "acknowledged__exact=0",
                  "component__exact=performance", "model_version=v7", "q=v7",
                  "timestamp__year=2026"]:
        response = client.get("/admin/alerting/alert/?" + query)
        assert response.status_code == 200, query  # an unknown filter would redirect
    page = client.get("/admin/alerting/alert/").content.decode()
    assert "By model version" in page and "v7" in page


def test_prediction_and_snapshot_admin_lists_work(admin_client_for, make_prediction):
    make_prediction(model_version="v1", prediction_id="abc")
    make_prediction(model_version="v2", actual_outcome=1)
    HealthSnapshot.objects.create(model_version="v1", accuracy=0.9)
    client = admin_client_for
    for url in ["/admin/predictions/prediction/", "/admin/predictions/prediction/?model_version=v1",
                "/admin/predictions/prediction/?has_outcome=yes",
                "/admin/predictions/prediction/?q=abc",
                "/admin/predictions/healthsnapshot/",
                "/admin/predictions/healthsnapshot/?model_version=v1",
                "/admin/predictions/performancemetric/"]:
        assert client.get(url).status_code == 200, url
    response = client.get("/admin/predictions/prediction/?model_version=v1")
    assert response.context["cl"].result_count == 1
    assert response.context["cl"].full_result_count is None  # no COUNT(*) of the table


def test_capped_paginator_counts_at_most_the_cap(make_prediction, monkeypatch):
    for _ in range(5):
        make_prediction(model_version="v1")
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 3)
    paginator = CappedCountPaginator(Prediction.objects.filter(model_version="v1"), 2)
    assert paginator.count == 3 and paginator.num_pages == 2
    # Above any estimate the planner may hold (an earlier test's ANALYZE, or autovacuum's,
    # outlives its transaction in pg_class): the rows are counted.
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 10**12)
    assert CappedCountPaginator(Prediction.objects.all(), 2).count == 5


@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_probing_datetimes_equal_djangos_distinct_datetimes(make_prediction, kind):
    from datetime import UTC, datetime

    from predictions.admin.records import ProbingDatesQuerySet

    for moment in [datetime(2025, 12, 31, 23, 59, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                   datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 2, 28, 8, tzinfo=UTC),
                   datetime(2026, 11, 24, 9, tzinfo=UTC)]:
        make_prediction(timestamp=moment)
    make_prediction(timestamp=datetime(2026, 3, 3, tzinfo=UTC), model_version="other")
    probing = ProbingDatesQuerySet(Prediction).filter(model_version="v1")
    plain = Prediction.objects.filter(model_version="v1")
    assert probing.datetimes("timestamp", kind) == list(plain.datetimes("timestamp", kind))
    assert probing.datetimes("timestamp", kind, order="DESC") == list(
        plain.datetimes("timestamp", kind, order="DESC")
    )


def test_prediction_search_is_exact(admin_client_for, make_prediction):
    make_prediction(prediction_id="Abc-1")
    make_prediction(prediction_id="abc-1x")
    response = admin_client_for.get("/admin/predictions/prediction/?q=Abc-1")
    assert [p.prediction_id for p in response.context["cl"].result_list] == ["Abc-1"]

"""Delivery that never loses an alert: attempts recorded, retried with backoff, claimed once."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerting.choices import DeliveryKind, DeliveryStatus
from alerting.deliveries import backoff, deliver, deliver_due, deliveries_due
from alerting.models import Alert, Delivery
from alerting.monitor import run_monitor_pass
from alerting.rules import evaluate_rule
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def fire(rule, django_capture_on_commit_callbacks, now=NOW, value=0.5, version="v1"):
    """Evaluate the rule and run its after-commit delivery, as a real request would."""
    with django_capture_on_commit_callbacks(execute=True):
        return evaluate_rule(rule, value, version, now=now)


def test_fired_alert_is_delivered_to_a_real_smtp_server(
    make_rule, settings, smtp_server, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.ALERT_EMAIL_RECIPIENTS = ["oncall@example.org"]
    alert = fire(make_rule(channels=["email"]), django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None
    assert "PERFORMANCE: accuracy Alert" in smtp_server.messages[0]["content"]


def test_fired_alert_reaches_slack_and_webhook_servers(
    make_rule, settings, http_server, django_capture_on_commit_callbacks
):
    slack = http_server(answer={"ok": True})
    hook = http_server(answer={})
    settings.ALERT_SLACK_BOT_TOKEN, settings.ALERT_SLACK_CHANNEL = "xoxb-1", "#alerts"
    settings.SLACK_API_URL = slack.url
    rule = make_rule(channels=["slack", "webhook"], conditions={"webhook_url": hook.url + "/in"})
    alert = fire(rule, django_capture_on_commit_callbacks)
    assert slack.requests[0]["path"] == "/chat.postMessage"
    assert hook.json_bodies()[0]["alert_id"] == alert.alert_id
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_server_down_keeps_the_alert_records_the_error_and_a_later_pass_delivers(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    port = free_port()  # nothing listens there yet
    rule = make_rule(channels=["webhook"],
                     conditions={"webhook_url": f"http://127.0.0.1:{port}/alerts"})
    before = timezone.now()
    alert = fire(rule, django_capture_on_commit_callbacks, now=before)
    after = timezone.now()

    assert Alert.objects.filter(pk=alert.pk).exists()
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert "unreachable" in delivery.last_error
    wait = timedelta(seconds=settings.MONITORING_DELIVERY_BACKOFF_SECONDS)
    assert before + wait <= delivery.next_attempt_at <= after + wait

    # Not due before its backoff …
    assert run_monitor_pass(now=after + timedelta(seconds=1)).deliveries_sent == 0
    server = http_server(port=port)
    # … and delivered by the first monitor pass after it.
    result = run_monitor_pass(now=after + wait + timedelta(seconds=1))
    assert result.deliveries_sent == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert delivery.last_error == ""
    assert server.json_bodies()[0]["alert_id"] == alert.alert_id


def test_run_monitor_command_retries_failed_deliveries(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    port = free_port()
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": f"http://127.0.0.1:{port}"})
    alert = fire(rule, django_capture_on_commit_callbacks, now=timezone.now())
    assert Delivery.objects.get(alert=alert).status == DeliveryStatus.FAILED
    server = http_server(port=port)
    call_command("run_monitor", "--once", "--interval", "60")
    assert Delivery.objects.get(alert=alert).status == DeliveryStatus.SENT
    assert len(server.requests) == 1


def test_backoff_doubles_each_attempt(settings):
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 30
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_gives_up_after_the_last_attempt(make_rule, settings):
    settings.MONITORING_DELIVERY_MAX_ATTEMPTS = 3
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    port = free_port()
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": f"http://127.0.0.1:{port}"})
    alert = evaluate_rule(rule, 0.5, "v1", now=NOW)
    for attempt in range(5):
        deliver_due(now=NOW + timedelta(minutes=attempt))
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.attempts == 3
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None  # no further attempt
    assert not deliveries_due(NOW + timedelta(days=1)).exists()


def unconfigured_slack(settings):
    settings.ALERT_SLACK_BOT_TOKEN = ""
    settings.SLACK_WEBHOOK_URL = ""


def unconfigured_email(settings):
    settings.ALERT_EMAIL_RECIPIENTS = []


@pytest.mark.parametrize(
    ("channel", "unconfigure", "error"),
    [("slack", unconfigured_slack, "not configured"),
     ("email", unconfigured_email, "no recipients")],
)
def test_an_unconfigured_channel_fails_at_once_instead_of_being_retried(
    make_rule, settings, django_capture_on_commit_callbacks, channel, unconfigure, error
):
    unconfigure(settings)
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 0
    alert = fire(make_rule(channels=[channel]), django_capture_on_commit_callbacks)
    for minute in range(10):
        deliver_due(now=NOW + timedelta(minutes=minute))
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert error in delivery.last_error
    assert delivery.next_attempt_at is None
    assert not deliveries_due(NOW + timedelta(days=1)).exists()


def test_a_transient_error_is_retried_with_backoff_until_the_server_answers(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    settings.MONITORING_DELIVERY_BACKOFF_SECONDS = 30
    server = http_server(status=500)
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url + "/in"})
    alert = fire(rule, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at is not None
    first_retry = delivery.next_attempt_at
    assert deliver_due(now=first_retry + timedelta(seconds=1)) == 0  # still 500
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - (first_retry + timedelta(seconds=1)) == backoff(2)
    server.status = 200
    assert deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert len(server.requests) == 3


def test_a_delivery_is_sent_once_even_when_two_workers_hold_it(make_rule, tmp_path, settings):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    alert = evaluate_rule(make_rule(channels=["file"]), 0.5, "v1", now=NOW)
    first_copy = Delivery.objects.get(alert=alert)
    second_copy = Delivery.objects.get(alert=alert)  # read by another monitor at once
    assert deliver(first_copy) is True
    assert deliver(second_copy) is False
    assert (tmp_path / "alert_log.txt").read_text().count("PERFORMANCE: accuracy Alert") == 1
    assert Delivery.objects.get(alert=alert).attempts == 1


def test_a_crashing_channel_is_recorded_not_raised(make_rule, monkeypatch):
    from alerting.channels import ConsoleChannel

    def explode(self, alert, kind):
        raise RuntimeError("boom")

    monkeypatch.setattr(ConsoleChannel, "send", explode)
    alert = evaluate_rule(make_rule(channels=["console"]), 0.5, "v1", now=NOW)
    assert deliver_due(now=NOW) == 0
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.FAILED
    assert "boom" in delivery.last_error


def test_recovery_is_delivered_on_the_rules_channels(make_rule, tmp_path, settings):
    settings.MONITORING_ALERT_LOG = str(tmp_path / "alert_log.txt")
    rule = make_rule(channels=["file"])
    evaluate_rule(rule, 0.5, "v1", now=NOW)
    evaluate_rule(rule, 0.9, "v1", now=NOW + timedelta(minutes=1))
    assert deliver_due(now=NOW + timedelta(minutes=1)) == 2
    text = (tmp_path / "alert_log.txt").read_text()
    assert "RESOLVED: PERFORMANCE: accuracy Alert" in text
    kinds = Delivery.objects.values_list("kind", "status")
    assert sorted(kinds) == [(DeliveryKind.ALERT, DeliveryStatus.SENT),
                             (DeliveryKind.RECOVERY, DeliveryStatus.SENT)]


def test_channel_config_overrides_settings_for_the_first_delivery(
    make_rule, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "legacy.txt"
    rule = make_rule(channels=["file"])
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_rule(rule, 0.5, "v1", now=NOW, channel_config={"file": {"path": str(path)}})
    assert "PERFORMANCE: accuracy Alert" in path.read_text()

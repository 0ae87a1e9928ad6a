"""Each channel against what it talks to: a log, a file, a real SMTP and HTTP server."""
import json
import logging
import re

import pytest
from django.utils import timezone

from alerting.channels import CHANNELS, ChannelError, get_channel
from alerting.choices import ChannelName, DeliveryKind
from alerting.rules import evaluate_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(make_rule):
    rule = make_rule(severity="critical", channels=[])
    return evaluate_rule(rule, 0.65, "v1.2", now=timezone.now())


def test_every_channel_name_has_a_channel():
    assert set(CHANNELS) == set(ChannelName.values)


def test_unknown_channel_is_a_permanent_channel_error():
    with pytest.raises(ChannelError, match="pager") as caught:
        get_channel("pager")
    assert caught.value.permanent


def test_console_writes_severity_title_and_message(alert, caplog):
    with caplog.at_level(logging.INFO, logger="alerting.channels"):
        get_channel("console").send(alert)
    assert "[CRITICAL] PERFORMANCE: accuracy Alert: accuracy is 0.6500 (< 0.7000)" in caplog.text


def test_file_appends_the_legacy_format_creating_the_folder(alert, tmp_path, settings):
    log = tmp_path / "deep" / "folder" / "alert_log.txt"
    settings.MONITORING_ALERT_LOG = str(log)
    get_channel("file").send(alert)
    get_channel("file").send(alert)
    text = log.read_text()
    entry = (
        r"\[(\d+\.\d+)\] \[critical\] PERFORMANCE: accuracy Alert\n"
        r"  accuracy is 0\.6500 \(< 0\.7000\)\n\n"
    )
    match = re.fullmatch(entry * 2, text)
    assert match, text
    assert float(match.group(1)) == pytest.approx(alert.timestamp.timestamp())


def test_file_path_can_come_from_channel_config(alert, tmp_path):
    path = tmp_path / "custom.txt"
    get_channel("file", {"file": {"path": str(path)}}).send(alert)
    assert "PERFORMANCE: accuracy Alert" in path.read_text()


def test_file_that_cannot_be_written_is_a_channel_error(alert, tmp_path, settings):
    (tmp_path / "a-file").write_text("")
    settings.MONITORING_ALERT_LOG = str(tmp_path / "a-file" / "alert_log.txt")
    with pytest.raises(ChannelError, match="cannot write"):
        get_channel("file").send(alert)


def use_smtp(settings, smtp_server, recipients=("oncall@example.org",)):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.ALERT_EMAIL_RECIPIENTS = list(recipients)


def test_email_reaches_a_real_smtp_server(alert, settings, smtp_server):
    use_smtp(settings, smtp_server, ["oncall@example.org", "ml@example.org"])
    get_channel("email").send(alert)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["to"] == ["oncall@example.org", "ml@example.org"]
    # The subject leads with the summary (SPEC §10); the body keeps the legacy text.
    assert "Subject: [CRITICAL] [v1.2] accuracy 0.6500 < 0.7000" in message["content"]
    assert "PERFORMANCE: accuracy Alert" in message["content"]
    assert "accuracy is 0.6500 (< 0.7000)" in message["content"]
    assert "v1.2" in message["content"]


def test_email_recipients_from_channel_config(alert, settings, smtp_server):
    use_smtp(settings, smtp_server, [])
    get_channel("email", {"email": {"recipients": ["legacy@example.org"]}}).send(alert)
    assert smtp_server.messages[0]["to"] == ["legacy@example.org"]


def test_email_without_recipients_is_a_channel_error(alert, settings, smtp_server):
    use_smtp(settings, smtp_server, [])
    with pytest.raises(ChannelError, match="ALERT_EMAIL_RECIPIENTS") as caught:
        get_channel("email").send(alert)
    assert caught.value.permanent  # no retry can find recipients
    assert smtp_server.messages == []


def test_email_with_the_smtp_server_down_is_a_channel_error(alert, settings):
    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = False
    settings.ALERT_EMAIL_RECIPIENTS = ["oncall@example.org"]
    with pytest.raises(ChannelError, match="email not sent") as caught:
        get_channel("email").send(alert)
    assert not caught.value.permanent  # the server may be back later


def use_slack_bot(settings, server):
    settings.ALERT_SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.ALERT_SLACK_CHANNEL = "#ml-alerts"
    settings.SLACK_API_URL = server.url + "/api"
    settings.SLACK_WEBHOOK_URL = ""


def test_slack_bot_posts_chat_post_message(alert, settings, http_server):
    server = http_server(answer={"ok": True, "ts": "1.2"})
    use_slack_bot(settings, server)
    get_channel("slack").send(alert)
    [request] = server.requests
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == "Bearer xoxb-test-token"
    body = json.loads(request["body"])
    assert body["channel"] == "#ml-alerts"
    assert "PERFORMANCE: accuracy Alert" in body["text"]
    assert "accuracy is 0.6500 (< 0.7000)" in body["text"]


def test_slack_refusal_is_a_channel_error(alert, settings, http_server):
    server = http_server(answer={"ok": False, "error": "channel_not_found"})
    use_slack_bot(settings, server)
    with pytest.raises(ChannelError, match="channel_not_found") as caught:
        get_channel("slack").send(alert)
    assert not caught.value.permanent


def test_slack_incoming_webhook(alert, settings, http_server):
    server = http_server(answer={})
    settings.ALERT_SLACK_BOT_TOKEN = ""
    settings.SLACK_WEBHOOK_URL = server.url + "/services/T0/B0/xyz"
    get_channel("slack").send(alert)
    assert server.requests[0]["path"] == "/services/T0/B0/xyz"
    assert "PERFORMANCE: accuracy Alert" in server.json_bodies()[0]["text"]


def test_slack_webhook_from_channel_config(alert, settings, http_server):
    server = http_server(answer={})
    settings.ALERT_SLACK_BOT_TOKEN = ""
    settings.SLACK_WEBHOOK_URL = ""
    get_channel("slack", {"slack": {"webhook_url": server.url + "/hook"}}).send(alert)
    assert server.requests[0]["path"] == "/hook"


def test_slack_not_configured_is_a_channel_error(alert, settings):
    settings.ALERT_SLACK_BOT_TOKEN = ""
    settings.SLACK_WEBHOOK_URL = ""
    with pytest.raises(ChannelError, match="not configured") as caught:
        get_channel("slack").send(alert)
    assert caught.value.permanent


def test_webhook_without_a_url_is_a_permanent_channel_error(make_rule):
    alert = evaluate_rule(make_rule(channels=[]), 0.65, "v1", now=timezone.now())
    with pytest.raises(ChannelError, match="no webhook_url") as caught:
        get_channel("webhook").send(alert)
    assert caught.value.permanent


def test_webhook_posts_the_alert_as_json(make_rule, http_server):
    server = http_server(answer={"received": True})
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url + "/alerts"})
    alert = evaluate_rule(rule, 0.65, "v1", now=timezone.now())
    get_channel("webhook").send(alert)
    [document] = server.json_bodies()
    assert document["alert_id"] == alert.alert_id
    assert document["kind"] == "alert"
    assert document["title"] == "PERFORMANCE: accuracy Alert"
    assert document["metric_value"] == 0.65
    assert document["rule_id"] == rule.rule_id
    assert document["model_version"] == "v1"


def test_webhook_recovery_notice(make_rule, http_server):
    server = http_server()
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url})
    alert = evaluate_rule(rule, 0.65, "v1", now=timezone.now())
    get_channel("webhook").send(alert, DeliveryKind.RECOVERY)
    assert server.json_bodies()[0]["kind"] == "recovery"


def test_http_error_answer_is_a_channel_error(make_rule, http_server):
    server = http_server(status=500)
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url})
    alert = evaluate_rule(rule, 0.65, "v1", now=timezone.now())
    with pytest.raises(ChannelError, match="HTTP 500") as caught:
        get_channel("webhook").send(alert)
    assert not caught.value.permanent


def test_a_hanging_server_is_cut_off_by_the_channel_timeout(make_rule, http_server, settings):
    # The server would answer (200) after a minute; the send must not wait for it. Only the
    # timeout can end the wait with this error: had it not fired, the send would succeed.
    server = http_server(delay=60)
    settings.MONITORING_CHANNEL_TIMEOUT_SECONDS = 0.5
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url})
    alert = evaluate_rule(rule, 0.65, "v1", now=timezone.now())
    with pytest.raises(ChannelError, match=r"did not answer within 0\.5 s") as caught:
        get_channel("webhook").send(alert)
    assert not caught.value.permanent  # a slow server may answer next time
    assert len(server.requests) == 1

"""Signed webhooks (SPEC §11): a receiver checks them with the README's own recipe.

The verification function is taken out of README.md and run as it is written there, so
the recipe people copy is the one that is tested.
"""
import re

import pytest
from django.utils import timezone

from alerting.channels import SIGNATURE_HEADER, signature
from alerting.rules import evaluate
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

SECRET = "whsec-0123456789abcdef"


def readme_recipe():
    """``verify_monitoring_signature`` as the README's "Webhook signatures" shows it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Webhook signatures", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace["verify_monitoring_signature"]


verify = readme_recipe()


def fire(rule, capture, value=0.5):
    with capture(execute=True):
        return evaluate(rule, value, "v1", now=timezone.now()).alert


@pytest.fixture
def signed_request(make_rule, http_server, django_capture_on_commit_callbacks):
    """The POST a receiver got for an alert of a rule with a webhook_secret."""
    server = http_server()
    rule = make_rule(channels=["webhook"],
                     conditions={"webhook_url": server.url + "/hook", "webhook_secret": SECRET})
    fire(rule, django_capture_on_commit_callbacks)
    [request] = server.requests
    return request


def test_a_receiver_verifies_the_signature_with_the_readme_recipe(signed_request):
    header = signed_request["headers"][SIGNATURE_HEADER]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify(SECRET, header, signed_request["body"])


def test_a_tampered_body_fails(signed_request):
    header = signed_request["headers"][SIGNATURE_HEADER]
    tampered = signed_request["body"].replace(b'"severity": "warning"', b'"severity": "info"')
    assert tampered != signed_request["body"]
    assert not verify(SECRET, header, tampered)
    assert not verify(SECRET, header, signed_request["body"] + b" ")


def test_an_old_timestamp_fails(signed_request):
    header = signed_request["headers"][SIGNATURE_HEADER]
    sent_at = int(re.match(r"t=(\d+)", header).group(1))
    body = signed_request["body"]
    assert verify(SECRET, header, body, now=sent_at + 299)
    assert not verify(SECRET, header, body, now=sent_at + 301)  # replayed 5 minutes later
    assert not verify(SECRET, header, body, now=sent_at - 301)  # from the future


def test_a_timestamp_changed_in_the_header_fails(signed_request):
    header = signed_request["headers"][SIGNATURE_HEADER]
    sent_at = int(re.match(r"t=(\d+)", header).group(1))
    forged = header.replace(f"t={sent_at}", f"t={sent_at + 100}")
    assert not verify(SECRET, forged, signed_request["body"], now=sent_at + 100)


def test_another_secret_or_a_garbled_header_fails(signed_request):
    header = signed_request["headers"][SIGNATURE_HEADER]
    body = signed_request["body"]
    assert not verify("another-secret", header, body)
    for garbled in ("", "t=1", "v1=abc", "nonsense", "t=x,v1=00", header.replace("v1=", "v0=")):
        assert not verify(SECRET, garbled, body)


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # A fixed vector, so the scheme cannot drift from what the README documents.
    assert signature("key", b'{"a": 1}', timestamp=1700000000) == (
        "t=1700000000,v1=" + __import__("hmac").new(
            b"key", b'1700000000.{"a": 1}', "sha256").hexdigest()
    )


def test_the_site_secret_signs_rules_without_their_own(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    settings.MONITORING_WEBHOOK_SECRET = "site-wide-secret"
    server = http_server()
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url})
    fire(rule, django_capture_on_commit_callbacks)
    [request] = server.requests
    assert verify("site-wide-secret", request["headers"][SIGNATURE_HEADER], request["body"])


def test_the_rule_secret_wins_over_the_site_secret(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    settings.MONITORING_WEBHOOK_SECRET = "site-wide-secret"
    server = http_server()
    rule = make_rule(channels=["webhook"],
                     conditions={"webhook_url": server.url, "webhook_secret": SECRET})
    fire(rule, django_capture_on_commit_callbacks)
    header = server.requests[0]["headers"][SIGNATURE_HEADER]
    assert verify(SECRET, header, server.requests[0]["body"])
    assert not verify("site-wide-secret", header, server.requests[0]["body"])


def test_without_a_secret_no_signature_is_sent(
    make_rule, http_server, settings, django_capture_on_commit_callbacks
):
    settings.MONITORING_WEBHOOK_SECRET = ""
    server = http_server()
    rule = make_rule(channels=["webhook"], conditions={"webhook_url": server.url})
    fire(rule, django_capture_on_commit_callbacks)
    sent = {name.lower() for name in server.requests[0]["headers"]}
    assert "content-type" in sent
    assert SIGNATURE_HEADER.lower() not in sent


def test_the_recovery_notice_is_signed_too(
    make_rule, http_server, django_capture_on_commit_callbacks
):
    server = http_server()
    rule = make_rule(channels=["webhook"],
                     conditions={"webhook_url": server.url, "webhook_secret": SECRET})
    fire(rule, django_capture_on_commit_callbacks)
    fire(rule, django_capture_on_commit_callbacks, value=0.9)
    kinds = [document["kind"] for document in server.json_bodies()]
    assert kinds == ["alert", "recovery"]
    for request in server.requests:
        assert verify(SECRET, request["headers"][SIGNATURE_HEADER], request["body"])

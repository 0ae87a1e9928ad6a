"""Who may call what: every API endpoint × method × identity, from the URL configuration.

The endpoints are discovered by walking the URL resolver (everything under /api/v1/, plus
/api/schema/, /api/docs/ and /healthz). Each (route name, method) must have a rule in
RULES below, so a new endpoint without one fails here until someone decides who may call
it. Identities: anonymous, a signed-in user with no permission (read-only), a model
service's token holding only predictions.add_prediction (ingest-only), a user holding
exactly the rule's permissions, a staff superuser, and one token per role of SPEC §11
(ingest, agent, reviewer, viewer; groups made by the access app's data migration). Every
403 must name each permission the caller lacks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access.roles import ROLES, roles_granting

PUBLIC = "public"  # anyone, signed in or not
READ = "read"  # any signed-in user (SPEC §3: reads need an authenticated user)

# (route name, HTTP method) -> PUBLIC, READ, or the permissions a write needs (SPEC §3, §8).
RULES: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("healthz", "GET"): PUBLIC,
    ("api-schema", "GET"): PUBLIC,
    ("api-docs", "GET"): PUBLIC,
    ("api-root", "GET"): PUBLIC,  # lists what the public document lists (SPEC §11)
    # Predictions, outcomes, metrics (§3)
    ("prediction-list", "GET"): READ,
    ("prediction-list", "POST"): ("predictions.add_prediction",),
    ("prediction-detail", "GET"): READ,
    ("prediction-outcome", "POST"): ("predictions.change_prediction",),
    ("outcomes", "POST"): ("predictions.change_prediction",),
    ("metrics-performance", "GET"): READ,
    ("metrics-accuracy", "GET"): READ,
    ("metrics-calibration", "GET"): READ,
    ("metrics-classification", "GET"): READ,
    ("metrics-trend", "GET"): READ,
    ("metrics-series", "GET"): READ,
    ("metrics-segments", "GET"): READ,
    ("metrics-custom", "GET"): READ,
    ("metrics-custom", "POST"): ("predictions.add_performancemetric",),
    ("metrics-custom-series", "GET"): READ,
    ("healthsnapshot-list", "GET"): READ,
    ("healthsnapshot-list", "POST"): ("predictions.add_healthsnapshot",),
    ("healthsnapshot-compute", "POST"): ("predictions.add_healthsnapshot",),
    # Alerts and rules (§3, §5)
    ("alert-list", "GET"): READ,
    ("alert-detail", "GET"): READ,
    ("alert-statistics", "GET"): READ,
    ("alert-acknowledge", "POST"): ("alerting.change_alert",),
    ("alert-resolve", "POST"): ("alerting.change_alert",),
    ("alertrule-list", "GET"): READ,
    ("alertrule-list", "POST"): ("alerting.add_alertrule",),
    ("alertrule-detail", "GET"): READ,
    ("alertrule-detail", "PUT"): ("alerting.change_alertrule",),
    ("alertrule-detail", "PATCH"): ("alerting.change_alertrule",),
    ("alertrule-detail", "DELETE"): ("alerting.delete_alertrule",),
    # Evaluating a rule on a pushed value may create an alert.
    ("alertrule-evaluate", "POST"): ("alerting.add_alert",),
    # SPEC §10: statistics; a preview stores nothing (any signed-in user); silences.
    ("alertrule-statistics", "GET"): READ,
    ("alertrule-preview", "POST"): READ,
    ("silence-list", "GET"): READ,
    ("silence-list", "POST"): ("alerting.add_silence",),
    ("silence-detail", "GET"): READ,
    ("silence-expire", "POST"): ("alerting.change_silence",),
    # Registry, drift, retraining decisions (§8)
    ("modelversion-list", "GET"): READ,
    ("modelversion-list", "POST"): ("predictions.add_modelversion",),
    ("modelversion-detail", "GET"): READ,
    ("modelversion-detail", "PATCH"): ("predictions.change_modelversion",),
    ("modelversion-promote", "POST"): ("predictions.change_modelversion",),
    ("modelversion-timeline", "GET"): READ,
    ("driftreport-list", "GET"): READ,
    ("driftreport-detail", "GET"): READ,
    ("driftreport-compute", "POST"): ("predictions.add_driftreport",),
    ("retrainingdecision-list", "GET"): READ,
    ("retrainingdecision-list", "POST"): ("predictions.add_retrainingdecision",),
    ("retrainingdecision-summary", "GET"): READ,
    # The approval queue (§8)
    ("agentaction-list", "GET"): READ,
    ("agentaction-list", "POST"): ("alerting.add_agentaction",),
    ("agentaction-detail", "GET"): READ,
    ("agentaction-approve", "POST"): ("alerting.review_agentaction",),
    ("agentaction-reject", "POST"): ("alerting.review_agentaction",),
    ("agentaction-executed", "POST"): ("alerting.change_agentaction",),
    ("agentaction-failed", "POST"): ("alerting.change_agentaction",),
}
INGEST_PERMS = ("predictions.add_prediction",)


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str
    method: str
    path: str

    def __str__(self):
        return f"{self.method} {self.path}"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        text = str(pattern.pattern).removeprefix("^").removesuffix("$")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + text)
        else:
            yield prefix + text, pattern


def _methods(callback) -> list[str]:
    if getattr(callback, "actions", None):  # a DRF viewset route
        return sorted(method.upper() for method in callback.actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return sorted(
            method.upper() for method in view_class.http_method_names
            if method not in ("options", "head") and hasattr(view_class, method)
        )
    return ["GET"]  # a function view (healthz takes GET only)


def _sample_value(group_regex: str) -> str:
    """A value that matches the parameter's pattern and names no stored object."""
    return "no-such-1" if re.fullmatch(group_regex, "no-such-1") else "1"


def _concrete_path(route: str) -> str:
    """The route with every parameter filled in (regex groups and <converter:name>)."""
    path = re.sub(r"\(\?P<\w+>([^)]*)\)", lambda m: _sample_value(m.group(1)), route)
    path = re.sub(r"<(?:int:)(\w+)>", "1", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", "no-such-1", path)
    return "/" + path


def discover() -> list[Endpoint]:
    """Every (route, method) under /api/v1/, plus the schema, the docs page and /healthz."""
    endpoints = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not (route.startswith("api/v1/") or route in ("api/schema/", "api/docs/", "healthz")):
            continue
        for method in _methods(pattern.callback):
            endpoints.append(Endpoint(pattern.name or route, route, method, _concrete_path(route)))
    return endpoints


ENDPOINTS = discover()


def test_every_endpoint_has_a_rule():
    missing = [f"{e.name} {e.method} (/{e.route})" for e in ENDPOINTS
               if (e.name, e.method) not in RULES]
    assert not missing, (
        "endpoints without an authorization rule; decide who may call them and add them to "
        f"RULES: {missing}"
    )


def test_every_rule_names_an_existing_endpoint():
    present = {(e.name, e.method) for e in ENDPOINTS}
    assert not [key for key in RULES if key not in present]


def test_discovery_finds_the_api():
    assert len({e.name for e in ENDPOINTS}) >= 20
    assert Endpoint("prediction-list", "api/v1/predictions/", "POST", "/api/v1/predictions/") \
        in ENDPOINTS


def _client(perms=(), superuser=False, role=None):
    user_model = get_user_model()
    username = f"u{user_model.objects.count() + 1}"
    if superuser:
        user = user_model.objects.create(username=username, is_staff=True, is_superuser=True)
    else:
        user = user_model.objects.create(username=username)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client


def _call(client, endpoint):
    body = {} if endpoint.method in ("POST", "PUT", "PATCH") else None
    return getattr(client, endpoint.method.lower())(endpoint.path, body, format="json")


def _assert_allowed(response, who, endpoint):
    assert response.status_code not in (401, 403) and response.status_code < 500, (
        f"{who} → {endpoint}: {response.status_code} {response.content[:300]!r}"
    )


def _assert_refused(response, status, who, endpoint, missing=()):
    assert response.status_code == status, (
        f"{who} → {endpoint}: expected {status}, got {response.status_code} "
        f"{response.content[:300]!r}"
    )
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    for permission in missing:  # a 403 says what to ask for (SPEC §11)
        assert f'"{permission}"' in detail, f"{who} → {endpoint}: {detail!r} omits {permission}"


def _lacking(user, rule) -> list[str]:
    user = get_user_model().objects.get(pk=user.pk)  # a fresh permission cache
    return [permission for permission in rule if not user.has_perm(permission)]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_access(endpoint):
    rule = RULES.get((endpoint.name, endpoint.method))
    if rule is None:
        pytest.fail(f"no authorization rule for {endpoint} ({endpoint.name}): add one to RULES")

    anonymous = _call(APIClient(), endpoint)
    if rule == PUBLIC:
        assert anonymous.status_code == 200, anonymous.status_code
        return
    _assert_refused(anonymous, 401, "anonymous", endpoint)
    assert anonymous.has_header("WWW-Authenticate")

    reader = _call(_client(), endpoint)
    ingest = _call(_client(INGEST_PERMS), endpoint)
    if rule == READ:
        _assert_allowed(reader, "read-only user", endpoint)
        _assert_allowed(ingest, "ingest-only token", endpoint)
    else:
        _assert_refused(reader, 403, "read-only user", endpoint, missing=rule)
        if set(rule) <= set(INGEST_PERMS):
            _assert_allowed(ingest, "ingest-only token", endpoint)
        else:
            _assert_refused(ingest, 403, "ingest-only token", endpoint,
                            missing=[p for p in rule if p not in INGEST_PERMS])
        _assert_allowed(_call(_client(rule), endpoint), f"holder of {rule}", endpoint)

    _assert_allowed(_call(_client(superuser=True), endpoint), "staff superuser", endpoint)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if RULES.get((e.name, e.method)) != PUBLIC], ids=str
)
def test_role_access(endpoint, role):
    """Each role's token does what the role holds; else 403 naming what it lacks."""
    rule = RULES[(endpoint.name, endpoint.method)]
    client = _client(role=role)
    response = _call(client, endpoint)
    lacking = [] if rule == READ else _lacking(client.user, rule)
    if lacking:
        _assert_refused(response, 403, f"role {role}", endpoint, missing=lacking)
        granting = roles_granting(lacking[0])
        if granting:  # and how to get it
            assert f"--role {granting[0]}" in response.json()["detail"]
    else:
        _assert_allowed(response, f"role {role}", endpoint)


# What each role must be able to do (SPEC §11), checked against the rules above, so that a
# role losing a permission it needs fails here, not in production.
ROLE_DUTIES = {
    "ingest": [("prediction-list", "POST"), ("prediction-outcome", "POST"),
               ("outcomes", "POST"), ("metrics-custom", "POST")],
    "agent": [("agentaction-list", "POST"), ("agentaction-executed", "POST"),
              ("agentaction-failed", "POST"), ("retrainingdecision-list", "POST"),
              ("modelversion-list", "POST"), ("modelversion-promote", "POST"),
              ("healthsnapshot-compute", "POST"), ("driftreport-compute", "POST"),
              ("alertrule-evaluate", "POST")],
    "reviewer": [("agentaction-approve", "POST"), ("agentaction-reject", "POST"),
                 ("alert-acknowledge", "POST"), ("alert-resolve", "POST"),
                 ("silence-list", "POST"), ("silence-expire", "POST")],
    "viewer": [key for key, rule in RULES.items() if rule == READ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_holds_its_duties(role):
    user = _client(role=role).user
    for key in ROLE_DUTIES[role]:
        rule = RULES[key]
        assert rule == READ or not _lacking(user, rule), f"role {role} cannot {key}"


@pytest.mark.django_db
def test_no_role_writes_rules_or_deletes():
    """Rule edits and deletions stay with administrators: no role holds them."""
    for role in ROLES:
        user = _client(role=role).user
        for key in [("alertrule-list", "POST"), ("alertrule-detail", "DELETE"),
                    ("alertrule-detail", "PATCH")]:
            assert _lacking(user, RULES[key]), (role, key)


# /metrics (SPEC §11) is Prometheus's scrape target: its own bearer token, never a user's.
METRICS_TOKEN = "scrape-secret-for-the-matrix"


@pytest.mark.django_db
def test_metrics_answers_only_its_own_token(settings):
    settings.MONITORING_METRICS_TOKEN = METRICS_TOKEN
    identities = {"anonymous": APIClient(), "staff superuser": _client(superuser=True),
                  **{f"role {role}": _client(role=role) for role in ROLES}}
    for who, client in identities.items():
        response = client.get("/metrics")
        assert response.status_code == 401, (who, response.status_code)
        assert b"monitoring_" not in response.content, who  # nothing leaks
        # A user's API token sent as a bearer is still not the scrape token.
        token = Token.objects.filter(user=getattr(client, "user", None)).first()
        if token is not None:
            bearer = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token.key}")
            assert bearer.status_code == 401, (who, bearer.status_code)
    scraper = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert scraper.status_code == 200
    assert b"# TYPE monitoring_alerts_open gauge" in scraper.content


@pytest.mark.django_db
def test_metrics_is_absent_without_a_scrape_token(settings):
    settings.MONITORING_METRICS_TOKEN = ""
    for client in (APIClient(), _client(superuser=True)):
        assert client.get("/metrics").status_code == 404

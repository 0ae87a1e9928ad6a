"""What the OpenAPI document says in words but cannot say in JSON Schema, taught to the fuzzer.

OpenAPI 3.0 has no way to state "start before end" between two fields, or that a free-form
object (features, metadata) holds no NUL, or that a date-time with an offset must stay in
years 1..9999 once in UTC. The API answers 400 naming the field for each; these are the
only requests schemathesis is told not to generate (schemathesis.toml loads this module).
A rule's channel that needs an address the fuzzed server lacks (PAGERDUTY_ROUTING_KEY,
ALERTMANAGER_URL) and a drift window that ends up backwards once its defaults are applied
("now") are the other two. Everything else it generates is held to every check.
"""
import os
import re
from datetime import UTC, datetime, timedelta

import schemathesis

# (earlier, later) pairs of one request: query parameters or body fields.
ORDERED = [("start", "end"), ("since", "until"), ("current_start", "current_end"),
           ("reference_start", "reference_end"), ("starts_at", "ends_at"),
           ("num_with_outcome", "num_predictions")]
# At most one of these (a silence ends at a time, or after a duration).
EXCLUSIVE = [("ends_at", "duration_minutes")]
# A silence needs an end or an alert to last until.
SILENCE_ENDS = ("ends_at", "duration_minutes", "alert_id")


def _moment(value):
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _dates_in_range(value) -> bool:
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
        return _moment(value) is not None
    if isinstance(value, dict):
        return all(_dates_in_range(v) for v in value.values())
    if isinstance(value, list):
        return all(_dates_in_range(v) for v in value)
    return True


def _fields_respected(fields: dict) -> bool:
    if "num_with_outcome" in fields and "num_predictions" not in fields:
        fields = {**fields, "num_predictions": 0}  # the snapshot's default
    for earlier, later in ORDERED:
        a, b = _moment(fields.get(earlier)), _moment(fields.get(later))
        if a is not None and b is not None and type(a) is type(b):
            try:
                if earlier == "num_with_outcome" and a > b:
                    return False
                if earlier != "num_with_outcome" and a >= b:
                    return False
            except TypeError:
                continue
    return not any(fields.get(a) is not None and fields.get(b) is not None
                   for a, b in EXCLUSIVE)


@schemathesis.hook
def filter_case(context, case):
    try:
        return _respected(case)
    except (TypeError, ValueError, AttributeError):
        return True  # a shape these rules do not read: let it through, the checks judge


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """A refused request that broke one of these rules is not a finding: the stateful phase
    merges values from earlier answers into a body after ``filter_case`` has passed it (a
    stored rule's ``metric_name`` beside a generated ``aggregate``), so judge what was sent."""
    if getattr(failure, "code", None) != "ST202" or response.status_code != 400:
        return True
    try:
        return _respected(case)
    except (TypeError, ValueError, AttributeError):
        return True


def _respected(case) -> bool:
    query = case.query if isinstance(case.query, dict) else {}
    body = case.body if isinstance(case.body, (dict, list)) else {}
    items = body if isinstance(body, list) else [body]
    return (
        _query_respected(case.operation.path, query)
        and _fields_respected(query)
        and all(_fields_respected(item) and _rule_respected(item)
                and _body_respected(case, item)
                for item in items if isinstance(item, dict))
        and not _has_nul(body)
        and _dates_in_range(query) and _dates_in_range(body)
    )


# Metrics over a window: end needs start; window_minutes goes without start/end.
WINDOWED = re.compile(
    r"/api/v1/metrics/(performance|accuracy|calibration|classification|segments)/$"
)
SERIES = re.compile(r"/api/v1/metrics/(custom/)?series/$")
STEP_HOURS = {"1h": 1, "6h": 6, "1d": 24}
MAX_POINTS = 2000


def _body_respected(case, body: dict) -> bool:
    if body.get("apply") is True and body.get("action") != "promote":
        return False  # a retraining decision applies a promotion only
    if case.operation.path.endswith("/api/v1/drift-reports/compute/"):
        return _drift_window_respected(body)
    if case.method.upper() == "POST" and case.operation.path.endswith("/api/v1/silences/"):
        if "starts_at" not in body:  # it starts now: an end must be later than now
            ends = _moment(body.get("ends_at"))
            if isinstance(ends, datetime) and ends <= datetime.now(UTC) + timedelta(minutes=5):
                return False
        return any(body.get(name) not in (None, "") for name in SILENCE_ENDS)
    return True


def _drift_window_respected(body: dict) -> bool:
    """The current window with its defaults: it ends now, and lasts the default window."""
    end = _moment(body["current_end"]) if "current_end" in body else datetime.now(UTC)
    start = _moment(body.get("current_start"))
    if not isinstance(end, datetime):
        return True
    if start is None:
        return end - datetime.min.replace(tzinfo=UTC) > timedelta(days=2)
    return not isinstance(start, datetime) or start < end


def _query_respected(path: str, query: dict) -> bool:
    if WINDOWED.search(path):
        if "end" in query and "start" not in query:
            return False
        if "window_minutes" in query and ("start" in query or "end" in query):
            return False
    if SERIES.search(path):
        end = _moment(query["end"]) if "end" in query else datetime.now(UTC)
        start = _moment(query["start"]) if "start" in query else None
        if not isinstance(end, datetime):
            return True
        start = start if isinstance(start, datetime) else end - timedelta(hours=24)
        if start >= end:  # e.g. a start in the future, with end defaulting to now
            return False
        step = query.get("step", "1h")
        hours = STEP_HOURS.get(step, 1) if isinstance(step, str) else 1
        if (end - start) / timedelta(hours=hours) > MAX_POINTS - 2:
            return False
    return True


def _rule_respected(body: dict) -> bool:
    """An alert rule's conditions that depend on its other fields (AlertRule.clean)."""
    conditions = body.get("conditions")
    if not isinstance(conditions, dict):
        conditions = {}
    custom = str(body.get("metric_name", "")).startswith("custom:")
    if "aggregate" in conditions and not custom:
        return False
    low, high = conditions.get("min_value"), conditions.get("max_value")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        return False
    if body.get("recovery_threshold") is not None:
        if body.get("comparison") in ("==", "!="):
            return False
        threshold, recovery = body.get("threshold"), body.get("recovery_threshold")
        if isinstance(threshold, (int, float)) and isinstance(recovery, (int, float)):
            if body.get("comparison") in ("<", "<=") and recovery < threshold:
                return False
            if body.get("comparison") in (">", ">=") and recovery > threshold:
                return False
    channels = body.get("channels") if isinstance(body.get("channels"), list) else []
    return _channels_configured(channels, conditions)


def _channels_configured(channels: list, conditions: dict) -> bool:
    """A channel needs its address: in the rule, or (PagerDuty, Alertmanager) on the server.

    The fuzzed server runs with this process's environment, so what it lacks is read here.
    """
    if "webhook" in channels and not conditions.get("webhook_url"):
        return False
    if ("pagerduty" in channels and not conditions.get("pagerduty_routing_key")
            and not os.environ.get("PAGERDUTY_ROUTING_KEY")):
        return False
    return "alertmanager" not in channels or bool(os.environ.get("ALERTMANAGER_URL"))

"""The checks of an alert rule's fields, one place for the admin form, the API and the
preview (``AlertRule.clean`` calls them); each returns the message a person sees."""
import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerting.choices import ChannelName, Comparison
from predictions.choices import METRIC_COMPONENTS, MetricName
from predictions.metrics import MAX_WINDOW_MINUTES

# Keys a rule's conditions may hold; anything else is refused as a likely typo.
CONDITION_KEYS = (
    "min_value", "max_value", "min_samples", "webhook_url", "aggregate", "webhook_secret",
    "pagerduty_routing_key",
)
# Conditions that are secrets: the API shows them as SECRET_MASK, and a rule sent back
# with the mask keeps the stored value (so a GET-edit-PUT round trip loses nothing).
SECRET_CONDITIONS = ("webhook_secret", "pagerduty_routing_key")
SECRET_MASK = "********"  # noqa: S105 (a placeholder, not a password)
# A metric a service pushes (SPEC §9): "custom:<name>", evaluated with conditions.aggregate.
CUSTOM_PREFIX = "custom:"
CUSTOM_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,57}")
AGGREGATES = ("avg", "min", "max", "sum", "count")
# The same rule as metric_name_error, for the OpenAPI document.
METRIC_NAME_PATTERN = (
    "^(" + "|".join(re.escape(name) for name in MetricName.values) + ")$|^"
    + re.escape(CUSTOM_PREFIX) + CUSTOM_NAME.pattern + "$"
)


def custom_metric(metric_name: str) -> str | None:
    """The pushed metric's name of a ``custom:<name>`` rule metric, else None."""
    if isinstance(metric_name, str) and metric_name.startswith(CUSTOM_PREFIX):
        return metric_name[len(CUSTOM_PREFIX):]
    return None


def metric_name_error(metric_name, conditions=None) -> str | None:
    if metric_name in MetricName.values:
        return None
    name = custom_metric(metric_name)
    if name is not None:
        if CUSTOM_NAME.fullmatch(name):
            return None
        return (f"{metric_name!r}: a pushed metric's name is letters, digits, '_', '.' or "
                "'-' (e.g. custom:api_latency).")
    return (f"Unknown metric {metric_name!r}: one of {', '.join(MetricName.values)}, "
            f"or {CUSTOM_PREFIX}<name> for a metric services push.")


def metric_component(metric_name) -> str | None:
    """The component a rule on this metric belongs to when none is given: ``drift`` for
    a drift report's drift figures, ``data_quality`` for its data-quality figures (§13)."""
    return METRIC_COMPONENTS.get(metric_name)


def is_finite_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def channels_error(channels) -> str | None:
    if not isinstance(channels, list):
        return "Channels must be a list of channel names."
    unknown = [c for c in channels if c not in ChannelName.values]
    if unknown:
        return (
            f"Unknown channel(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(ChannelName.values)}."
        )
    if len(set(channels)) != len(channels):
        return "Each channel may be listed only once."
    if ChannelName.ALERTMANAGER in channels and not settings.ALERTMANAGER_URL:
        return 'The "alertmanager" channel needs ALERTMANAGER_URL set on the server.'
    return None


def conditions_error(conditions, channels, metric_name: str = "") -> str | None:
    if conditions is None:
        conditions = {}
    if not isinstance(conditions, dict):
        return "Conditions must be an object, e.g. {\"min_samples\": 30}."
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        return (
            f"Unknown condition(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(CONDITION_KEYS)}."
        )
    problems = []
    for key in ("min_value", "max_value"):
        if key in conditions and not is_finite_number(conditions[key]):
            problems.append(f"{key} must be a finite number.")
    if (
        not problems
        and "min_value" in conditions
        and "max_value" in conditions
        and conditions["min_value"] > conditions["max_value"]
    ):
        problems.append(
            f"min_value ({conditions['min_value']}) must not exceed "
            f"max_value ({conditions['max_value']})."
        )
    if "min_samples" in conditions:
        samples = conditions["min_samples"]
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
            problems.append("min_samples must be a whole number ≥ 0.")
    channels = channels if isinstance(channels, list) else []
    aggregate = conditions.get("aggregate")
    if aggregate is not None and not metric_name.startswith(CUSTOM_PREFIX):
        problems.append(f"aggregate applies only to {CUSTOM_PREFIX}<name> metrics.")
    elif aggregate is not None and aggregate not in AGGREGATES:
        problems.append(f"aggregate must be one of {', '.join(AGGREGATES)}.")
    url = conditions.get("webhook_url")
    if url is not None or ChannelName.WEBHOOK in channels:
        if not url:
            problems.append('webhook_url is required when the "webhook" channel is used.')
        elif not isinstance(url, str):
            problems.append("webhook_url must be an http(s) URL.")
        else:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                problems.append(f"webhook_url {url!r} is not a valid http(s) URL.")
    problems.extend(_secret_problems(conditions, channels))
    return " ".join(problems) or None


def _secret_problems(conditions: dict, channels: list) -> list[str]:
    """The webhook's signing secret and PagerDuty's routing key: non-empty text."""
    problems = []
    for key in SECRET_CONDITIONS:
        value = conditions.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()
                                  or len(value) > 200):
            problems.append(f"{key} must be a non-empty string of at most 200 characters.")
        elif value == SECRET_MASK:
            problems.append(f"{key} {SECRET_MASK!r} is the mask the API shows: send the "
                            "secret itself.")
    if (ChannelName.PAGERDUTY in channels and not conditions.get("pagerduty_routing_key")
            and not settings.PAGERDUTY_ROUTING_KEY):
        problems.append('pagerduty_routing_key is required when the "pagerduty" channel is '
                        "used and PAGERDUTY_ROUTING_KEY is not set.")
    return problems


def _is_whole(value, least):
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def rule_policy_errors(rule) -> dict:
    """{field: message} for the §10 fields of ``rule`` (pending, recovery, reminders, window).

    The one check of these fields: AlertRule.clean (admin form, API) and the preview call it.
    """
    errors = {}
    if not _is_whole(rule.pending_evaluations, 1):
        errors["pending_evaluations"] = "pending_evaluations must be a whole number ≥ 1."
    if rule.repeat_interval_minutes is not None and not _is_whole(
        rule.repeat_interval_minutes, 1
    ):
        errors["repeat_interval_minutes"] = (
            "repeat_interval_minutes must be a whole number of minutes ≥ 1, or empty."
        )
    if rule.window_minutes is not None and not (
        _is_whole(rule.window_minutes, 1) and rule.window_minutes <= MAX_WINDOW_MINUTES
    ):
        errors["window_minutes"] = (
            f"window_minutes must be a whole number of minutes from 1 to {MAX_WINDOW_MINUTES}, "
            "or empty."
        )
    recovery = rule.recovery_threshold
    if recovery is not None:
        if not is_finite_number(recovery):
            errors["recovery_threshold"] = "recovery_threshold must be a finite number."
        elif rule.comparison in (Comparison.EQ, Comparison.NE):
            errors["recovery_threshold"] = (
                f"recovery_threshold cannot be used with {rule.comparison!r}: only with "
                "<, <=, > or >=."
            )
        elif is_finite_number(rule.threshold):
            if rule.comparison in (Comparison.LT, Comparison.LE) and recovery < rule.threshold:
                errors["recovery_threshold"] = (
                    f"recovery_threshold ({recovery}) must be ≥ the threshold "
                    f"({rule.threshold}) for a {rule.comparison!r} rule: it recovers above it."
                )
            elif rule.comparison in (Comparison.GT, Comparison.GE) and recovery > rule.threshold:
                errors["recovery_threshold"] = (
                    f"recovery_threshold ({recovery}) must be ≤ the threshold "
                    f"({rule.threshold}) for a {rule.comparison!r} rule: it recovers below it."
                )
    return errors

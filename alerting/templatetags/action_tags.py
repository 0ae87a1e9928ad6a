"""Template filters of the approval queue: an action's parameters as readable pairs."""
import json

from django import template

register = template.Library()

RISK_BADGES = {"high": "critical", "medium": "warning", "low": "info"}


@register.filter
def key_values(parameters):
    """[(key, text)] of a parameters object, by key (PostgreSQL's jsonb keeps no order):
    strings as they are, the rest as JSON."""
    if not isinstance(parameters, dict):
        return [("value", json.dumps(parameters))] if parameters not in (None, "", []) else []
    return [
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in sorted(parameters.items())
    ]


@register.filter
def risk_badge(risk_level):
    """The badge class of a risk level (high red, medium amber, low blue)."""
    return RISK_BADGES.get(risk_level, "info")

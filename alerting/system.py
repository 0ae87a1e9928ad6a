"""The legacy ``AlertingSystem`` interface, now backed by the database (SPEC §7).

Same classes, methods, arguments and return shapes as the file-based library, calling
the services the API and the monitor use: ``rules.evaluate_rule`` (cooldown kept in the
database per rule and model version, so it survives a new ``AlertingSystem`` and other
processes), ``rules.create_alert``, ``lifecycle.acknowledge_alert`` (one conditional
update) and ``lifecycle.alert_statistics``. Rules given as the legacy dataclass are
stored as ``alerting.AlertRule`` rows, keyed by ``rule_id``.
"""
from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from django.core.exceptions import ValidationError

from alerting import lifecycle, rules
from alerting.models import Alert as AlertRow
from alerting.models import AlertRule as AlertRuleRow

logger = logging.getLogger("alerting.system")


class _DefaultDataDir(str):
    """The legacy default ``data_dir``: recognised so that only an explicit one warns."""


DEFAULT_DATA_DIR = _DefaultDataDir("data/monitoring")


class AlertSeverity(Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertChannel(Enum):
    CONSOLE = "console"
    EMAIL = "email"
    SLACK = "slack"
    FILE = "file"
    WEBHOOK = "webhook"


class _AsDict:
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Alert(_AsDict):
    timestamp: float
    alert_id: str
    severity: str
    title: str
    message: str
    metric_name: str
    metric_value: float
    threshold: float
    component: str
    model_version: str
    acknowledged: bool = False
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @classmethod
    def from_model(cls, alert: AlertRow) -> Alert:
        return cls(
            timestamp=alert.timestamp.timestamp(),
            alert_id=alert.alert_id,
            severity=alert.severity,
            title=alert.title,
            message=alert.message,
            metric_name=alert.metric_name,
            metric_value=alert.metric_value,
            threshold=alert.threshold,
            component=alert.component,
            model_version=alert.model_version,
            acknowledged=alert.acknowledged,
            acknowledged_at=alert.acknowledged_at.timestamp() if alert.acknowledged_at else None,
            acknowledged_by=alert.acknowledged_by or None,
        )


@dataclass
class AlertRule(_AsDict):
    rule_id: str
    metric_name: str
    metric_type: str  # accepted for the legacy signature; nothing reads it, so not stored
    threshold: float
    comparison: str
    severity: str
    component: str
    enabled: bool = True
    cooldown_minutes: int = 60
    channels: list[str] = field(default_factory=lambda: ["console"])
    conditions: dict = field(default_factory=dict)


def _value(choice):
    """An enum member or its value → the value."""
    return choice.value if isinstance(choice, Enum) else choice


def store_rule(rule: AlertRule) -> AlertRuleRow:
    """Create or update the AlertRule row with ``rule.rule_id`` from the legacy dataclass.

    Fields the dataclass does not know (name, description, version scope) and the
    rule's firing history are left as they are. ValueError names invalid fields.
    """
    values = {
        "metric_name": _value(rule.metric_name),
        "threshold": rule.threshold,
        "comparison": _value(rule.comparison),
        "severity": _value(rule.severity),
        "component": rule.component,
        "enabled": rule.enabled,
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": [_value(c) for c in (rule.channels or [])],
        "conditions": dict(rule.conditions or {}),
    }
    row = AlertRuleRow.objects.filter(rule_id=rule.rule_id).first()
    if row is None:
        row = AlertRuleRow(rule_id=rule.rule_id, **values)
    elif all(getattr(row, name) == value for name, value in values.items()):
        return row
    else:
        for name, value in values.items():
            setattr(row, name, value)
    try:
        row.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise ValueError(f"invalid alert rule {rule.rule_id!r}: {problems}") from exc
    row.save()
    return row


class AlertingSystem:
    """Creates, evaluates, stores and acknowledges alerts; tells registered callbacks."""

    def __init__(self, data_dir: Path | str = DEFAULT_DATA_DIR, channel_config=None):
        if data_dir is not DEFAULT_DATA_DIR:
            warnings.warn(
                "AlertingSystem(data_dir=…) is ignored: alerts and rules now live in the "
                "database (DATABASE_URL). Import old files with "
                "`manage.py import_legacy DATA_DIR`.",
                DeprecationWarning,
                stacklevel=2,
            )
        # None: every channel is configured from the environment (settings).
        self.channel_config = channel_config
        self._callbacks: list[tuple[str, Callable[[Alert], None]]] = []

    # --- alerts -----------------------------------------------------------------------
    def create_alert(
        self, severity, title, message, metric_name, metric_value, threshold, component,
        model_version,
    ) -> Alert:
        """Store an alert and send it to the console channel (as the legacy one did)."""
        row = rules.create_alert(
            severity=_value(severity),
            title=title,
            message=message,
            metric_name=metric_name,
            metric_value=metric_value,
            threshold=threshold,
            component=component,
            model_version=model_version,
            channels=[AlertChannel.CONSOLE.value],
            channel_config=self.channel_config,
        )
        alert = Alert.from_model(row)
        self._run_callbacks(alert)
        return alert

    def evaluate_rule(self, rule, metric_value: float, model_version: str) -> Alert | None:
        """enabled → cooldown (database, per rule and version) → comparison → conditions
        → alert → deliver. ``rule`` is the legacy dataclass (stored/updated by rule_id),
        an AlertRule row, or a rule_id."""
        if isinstance(rule, AlertRule):
            row = store_rule(rule)
        elif isinstance(rule, AlertRuleRow):
            row = rule
        else:
            row = AlertRuleRow.objects.filter(rule_id=str(rule)).first()
            if row is None:
                raise ValueError(f"no alert rule {rule!r}")
        fired = rules.evaluate_rule(
            row, metric_value, model_version, channel_config=self.channel_config
        )
        if fired is None:
            return None
        alert = Alert.from_model(fired)
        self._run_callbacks(alert)
        return alert

    def add_rule(self, rule: AlertRule) -> None:
        store_rule(rule)

    def get_alerts(self, limit: int = 100, severity=None) -> list[Alert]:
        """Newest first."""
        alerts = AlertRow.objects.order_by("-timestamp", "-id")
        if severity is not None:
            alerts = alerts.filter(severity=_value(severity))
        return [Alert.from_model(a) for a in alerts[: max(0, int(limit))]]

    def acknowledge_alert(self, alert_id: str, acknowledged_by: str | None = None) -> bool:
        """True when the alert is acknowledged (now or before: the first acknowledger is
        kept, in one conditional update); False for an unknown id."""
        outcome = lifecycle.acknowledge_alert(alert_id, by=acknowledged_by or "")
        return outcome.alert is not None

    def get_alert_statistics(self) -> dict:
        statistics = lifecycle.alert_statistics()
        return {
            "total_alerts": statistics["total_alerts"],
            "unacknowledged": statistics["unacknowledged"],
            "by_severity": {
                severity.value: statistics["by_severity"].get(severity.value, 0)
                for severity in (
                    AlertSeverity.CRITICAL, AlertSeverity.WARNING, AlertSeverity.INFO
                )
            },
            "by_component": statistics["by_component"],
        }

    # --- callbacks --------------------------------------------------------------------
    def register_callback(self, channel: str, callback: Callable[[Alert], None]) -> None:
        """Run ``callback(alert)`` in this process for every new alert this system makes."""
        self._callbacks.append((str(_value(channel)), callback))

    def _run_callbacks(self, alert: Alert) -> None:
        for channel, callback in list(self._callbacks):
            try:
                callback(alert)
            except Exception:
                # One broken callback must not keep the alert from the others.
                logger.exception("alert callback for %s failed on %s", channel, alert.alert_id)

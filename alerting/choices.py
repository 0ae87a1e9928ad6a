"""Named choices of the alerting app, used by models, serializers, filters and forms."""
from django.db import models


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Comparison(models.TextChoices):
    LT = "<", "< (less than)"
    LE = "<=", "<= (at most)"
    GT = ">", "> (greater than)"
    GE = ">=", ">= (at least)"
    EQ = "==", "== (equal to)"
    NE = "!=", "!= (not equal to)"


class MetricType(models.TextChoices):
    THRESHOLD = "threshold"
    DEGRADATION = "degradation"
    DRIFT = "drift"


class ChannelName(models.TextChoices):
    CONSOLE = "console"
    FILE = "file"
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class DeliveryKind(models.TextChoices):
    ALERT = "alert"
    REMINDER = "reminder"
    RECOVERY = "recovery"
    # A person acknowledged the alert: told to channels that keep their own incident
    # (PagerDuty), so that their escalation stops too.
    ACKNOWLEDGMENT = "acknowledgment"


class RuleStateName(models.TextChoices):
    """Where a rule stands for one model version (SPEC §10)."""

    OK = "ok"
    PENDING = "pending"  # the condition holds, but not yet on enough evaluations
    FIRING = "firing"  # an incident is open


class MonitorStatus(models.TextChoices):
    OK = "ok"
    LATE = "late"
    NEVER = "never"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ActionType(models.TextChoices):
    RETRAIN_MODEL = "retrain_model"
    ROLLBACK_MODEL = "rollback_model"
    PROMOTE_MODEL = "promote_model"
    ADJUST_THRESHOLD = "adjust_threshold"
    OTHER = "other"


class RiskLevel(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActionStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"
    FAILED = "failed"

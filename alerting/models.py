"""Alert rules, the alerts they fire, their deliveries, and the approval queue (SPEC §2, §5, §8)."""
import secrets
import time

from django.db import models
from django.utils import timezone

from alerting.choices import (
    ActionStatus,
    ActionType,
    AlertStatus,
    Comparison,
    DeliveryKind,
    DeliveryStatus,
    MetricType,
    RiskLevel,
    Severity,
)
from predictions.choices import MetricName


def new_alert_id():
    """alert_<epoch ms>_<random>: the legacy prefix, without the legacy collisions."""
    return f"alert_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def new_action_id():
    return f"action_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


class AlertRule(models.Model):
    """A condition on a snapshot metric that fires an alert, edited in the admin."""

    rule_id = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    metric_name = models.CharField(max_length=64, choices=MetricName.choices)
    metric_type = models.CharField(
        max_length=16, choices=MetricType.choices, default=MetricType.THRESHOLD
    )
    threshold = models.FloatField()
    comparison = models.CharField(max_length=2, choices=Comparison.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    component = models.CharField(max_length=64, default="performance")
    model_version = models.CharField(
        max_length=64, blank=True, default="", help_text="Blank: every model version."
    )
    enabled = models.BooleanField(default=True)
    cooldown_minutes = models.PositiveIntegerField(default=60)
    channels = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    last_triggered = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule_id"]

    def __str__(self):
        return self.name or self.rule_id


class RuleCooldown(models.Model):
    """When a rule last fired for one model version: the cooldown, kept in the database.

    One row per (rule, version), locked while a firing is decided, so that racing
    evaluations in several processes fire at most once within the cooldown.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="cooldowns")
    model_version = models.CharField(max_length=64, blank=True, default="")
    last_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rule", "model_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "model_version"], name="one_cooldown_per_rule_version"
            ),
        ]

    def __str__(self):
        return f"{self.rule.rule_id}/{self.model_version or '*'}"


class Alert(models.Model):
    """An alert fired by a rule (or created directly), and its lifecycle."""

    alert_id = models.CharField(max_length=100, unique=True, default=new_alert_id)
    timestamp = models.DateTimeField(default=timezone.now)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    title = models.CharField(max_length=255)
    message = models.TextField()
    metric_name = models.CharField(max_length=64, blank=True, default="")
    metric_value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    component = models.CharField(max_length=64, blank=True, default="")
    model_version = models.CharField(max_length=64, blank=True, default="")
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True, default="")
    acknowledgment_note = models.TextField(blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    resolution_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-timestamp", "-id"]
        get_latest_by = "timestamp"
        indexes = [
            models.Index(fields=["-timestamp"], name="alert_time"),
            models.Index(fields=["severity", "-timestamp"], name="alert_severity_time"),
            models.Index(fields=["acknowledged", "-timestamp"], name="alert_ack_time"),
            models.Index(fields=["status", "-timestamp"], name="alert_status_time"),
            models.Index(
                fields=["rule", "model_version", "status"], name="alert_rule_version_status"
            ),
        ]

    def __str__(self):
        return f"{self.alert_id}: {self.title}"

    @property
    def is_open(self):
        return self.status != AlertStatus.RESOLVED


class Delivery(models.Model):
    """One notification of an alert (or of its recovery) on one channel, until it is sent."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=DeliveryKind.choices, default=DeliveryKind.ALERT)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "kind"], name="one_delivery_per_alert_channel_kind"
            ),
        ]

    def __str__(self):
        return f"{self.alert.alert_id} → {self.channel} ({self.kind}): {self.status}"


class AgentAction(models.Model):
    """An automated action proposed in answer to an issue, waiting for a person's review."""

    action_id = models.CharField(max_length=100, unique=True, default=new_action_id)
    action_type = models.CharField(max_length=32, choices=ActionType.choices)
    description = models.TextField(blank=True, default="")
    parameters = models.JSONField(default=dict, blank=True)
    risk_level = models.CharField(
        max_length=16, choices=RiskLevel.choices, default=RiskLevel.MEDIUM
    )
    requires_approval = models.BooleanField(default=True)
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    issue_type = models.CharField(max_length=64, blank=True, default="")
    issue_severity = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ActionStatus.choices, default=ActionStatus.PENDING
    )
    requested_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.CharField(max_length=150, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True, default="")
    executed_at = models.DateTimeField(null=True, blank=True)
    execution_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("review_agentaction", "Can approve or reject agent actions")]
        indexes = [models.Index(fields=["status", "-created_at"], name="action_status_time")]

    def __str__(self):
        return f"{self.action_id}: {self.action_type} ({self.status})"

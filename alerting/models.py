"""Alert rules, the alerts they fire, their deliveries, and the approval queue (SPEC §2, §5, §8)."""
import secrets
import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from alerting import rule_checks
from alerting.choices import (
    ActionStatus,
    ActionType,
    AlertStatus,
    Comparison,
    DeliveryKind,
    DeliveryStatus,
    RiskLevel,
    RuleStateName,
    Severity,
)


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
    # One of MetricName, or "custom:<name>" for a metric services push (SPEC §9).
    metric_name = models.CharField(
        max_length=64,
        help_text="A metric of §4 (accuracy, f1_score, num_predictions, …) or "
        "custom:<name> for a metric services push (with conditions.aggregate).",
    )
    threshold = models.FloatField()
    comparison = models.CharField(max_length=2, choices=Comparison.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    component = models.CharField(max_length=64, default="performance")
    model_version = models.CharField(
        max_length=64, blank=True, default="", help_text="Blank: every model version."
    )
    enabled = models.BooleanField(default=True)
    # Least time between one incident's resolution and the next of the same version.
    cooldown_minutes = models.PositiveIntegerField(default=60)
    pending_evaluations = models.PositiveIntegerField(
        default=1,
        help_text="Consecutive evaluations of a version on which the condition must hold "
                  "before anything fires.",
    )
    recovery_threshold = models.FloatField(
        null=True, blank=True,
        help_text="Once firing, resolve only when the value is on the far side of this "
                  "(e.g. fire < 0.80, recover >= 0.85). Blank: when the condition stops holding.",
    )
    repeat_interval_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Remind the channels this often while the alert is unacknowledged. "
                  "Blank: no reminders.",
    )
    window_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="The window this rule is evaluated on. Blank: the monitor's window.",
    )
    channels = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    last_triggered = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pending_evaluations__gte=1),
                name="alertrule_pending_evaluations_positive",
            ),
        ]

    def __str__(self):
        return self.name or self.rule_id

    def clean(self):
        """Check every field a person edits (admin form and API share this).

        Raises ValidationError({field: message}) naming each problem.
        """
        super().clean()
        errors = {}
        metric_error = rule_checks.metric_name_error(self.metric_name, self.conditions)
        if metric_error:
            errors["metric_name"] = metric_error
        if self.comparison not in Comparison.values:
            errors["comparison"] = (
                f"Comparison must be one of {', '.join(Comparison.values)}."
            )
        if self.severity not in Severity.values:
            errors["severity"] = f"Severity must be one of {', '.join(Severity.values)}."
        if not rule_checks.is_finite_number(self.threshold):
            errors["threshold"] = "Threshold must be a finite number."
        if (
            self.cooldown_minutes is None
            or isinstance(self.cooldown_minutes, bool)
            or not isinstance(self.cooldown_minutes, int)
            or self.cooldown_minutes < 0
        ):
            errors["cooldown_minutes"] = "Cooldown must be a whole number of minutes ≥ 0."
        errors.update(rule_checks.rule_policy_errors(self))

        channels_error = rule_checks.channels_error(self.channels)
        if channels_error:
            errors["channels"] = channels_error
        conditions_error = rule_checks.conditions_error(
            self.conditions, self.channels, self.metric_name
        )
        if conditions_error:
            errors["conditions"] = conditions_error
        if errors:
            raise ValidationError(errors)


class RuleState(models.Model):
    """Where a rule stands for one model version (SPEC §10): ok, pending or firing.

    One row per (rule, version), locked while an evaluation decides (``select_for_update``
    on PostgreSQL; SQLite's IMMEDIATE transactions serialize writers), so that racing
    evaluations in several processes take turns. ``last_resolved_at`` is where the
    cooldown counts from; ``last_fired_at`` is the newest incident's start.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    model_version = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(
        max_length=16, choices=RuleStateName.choices, default=RuleStateName.OK
    )
    since = models.DateTimeField(null=True, blank=True)
    consecutive = models.PositiveIntegerField(default=0)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_resolved_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rule", "model_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "model_version"], name="one_cooldown_per_rule_version"
            ),
        ]

    def __str__(self):
        return f"{self.rule.rule_id}/{self.model_version or '*'}: {self.state}"


# The round-1 name, still used by the legacy importer (its cooldown rows are these rows).
RuleCooldown = RuleState


class AlertQuerySet(models.QuerySet):
    """Alert queries that mean the same thing wherever they are asked."""

    def unresolved(self):
        """Alerts still open or acknowledged: the ones someone may still have to act on."""
        return self.exclude(status=AlertStatus.RESOLVED)

    def unacknowledged(self):
        return self.filter(acknowledged=False)

    def count_by(self, field: str) -> dict:
        """{value of ``field``: how many alerts} in one GROUP BY."""
        return dict(
            self.order_by().values(field).annotate(n=models.Count("id")).values_list(field, "n")
        )

    def known_versions(self) -> list[str]:
        """The model versions alerts carry, sorted (one DISTINCT query)."""
        return list(
            self.exclude(model_version="").order_by("model_version")
            .values_list("model_version", flat=True).distinct()
        )


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
    # One incident, not a stream (SPEC §10): later evaluations that see the condition
    # update these instead of creating alerts.
    summary = models.CharField(max_length=255, blank=True, default="")
    occurrences = models.PositiveIntegerField(default=1)
    last_value = models.FloatField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    silenced = models.BooleanField(default=False)
    # A performance alert's version's five worst segments when it fired (SPEC §13):
    # [{"key", "value", "n", "num_with_outcome", "accuracy"}], worst first.
    worst_segments = models.JSONField(default=list, blank=True)

    objects = AlertQuerySet.as_manager()

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
        constraints = [
            # The lifecycle sets status and resolved_at together; unresolved() reads status.
            models.UniqueConstraint(
                fields=["rule", "model_version"],
                condition=~models.Q(status=AlertStatus.RESOLVED),
                name="one_unresolved_alert_per_rule_version",
            ),
        ]

    def __str__(self):
        return f"{self.alert_id}: {self.title}"

    @property
    def is_open(self):
        return self.status != AlertStatus.RESOLVED

    @property
    def headline(self):
        """What the pages show first: the summary, or the title of an alert without one."""
        return self.summary or self.title


class Delivery(models.Model):
    """One notification of an alert (or of its recovery) on one channel, until it is sent."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=DeliveryKind.choices, default=DeliveryKind.ALERT)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # 0 for the alert and its recovery; n for the n-th reminder.
    reminder_number = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # None: no further attempt (sent, or given up: out of attempts or a permanent error).
    next_attempt_at = models.DateTimeField(default=timezone.now, null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "kind", "reminder_number"],
                name="one_delivery_per_alert_channel_kind",
            ),
        ]

    def __str__(self):
        return f"{self.alert.alert_id} → {self.channel} ({self.kind}): {self.status}"


class DeliveryFailures(models.Model):
    """Failed delivery attempts per channel, counted as they fail: ``/metrics``'s
    ``monitoring_deliveries_failed_total`` must never go down, and Delivery rows do
    (a retry that succeeds turns a failed row into a sent one)."""

    channel = models.CharField(max_length=32, unique=True)
    failed = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "delivery failures"

    def __str__(self):
        return f"{self.channel}: {self.failed} failed attempt(s)"


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


class Silence(models.Model):
    """Keeps matching alerts from notifying anyone for a while (SPEC §10).

    Matchers left blank match anything; an ``alert`` silence matches only that alert and
    lasts until it resolves. Matching alerts are still stored (``silenced``), and their
    recovery notices still go out.
    """

    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="silences"
    )
    model_version = models.CharField(max_length=64, blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True, default="")
    component = models.CharField(max_length=64, blank=True, default="")
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="silences",
        help_text="Silence only this alert, until it resolves.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expired_at = models.DateTimeField(null=True, blank=True)
    expired_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["expired_at", "ends_at"], name="silence_active")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=False) | models.Q(alert__isnull=False),
                name="silence_needs_an_end_or_an_alert",
            ),
        ]

    def __str__(self):
        return f"silence {self.pk}: {self.reason[:60]}"

    def clean(self):
        super().clean()
        errors = {}
        if not (self.reason or "").strip():
            errors["reason"] = "A silence needs a reason."
        if self.ends_at is None and self.alert_id is None:
            errors["ends_at"] = (
                "A silence needs an end (ends_at or duration_minutes) or an alert (alert_id)."
            )
        elif self.ends_at is not None and self.starts_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "ends_at must be after starts_at."
        if errors:
            raise ValidationError(errors)


class MonitorHeartbeat(models.Model):
    """The newest monitor pass (one row per monitor name): is anything watching?"""

    name = models.CharField(max_length=64, unique=True, default="monitor")
    last_pass_at = models.DateTimeField()
    passes = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_pass_at:%Y-%m-%d %H:%M:%S}"

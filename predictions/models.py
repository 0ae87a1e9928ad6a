"""Predictions, their outcomes, and what is measured from them (SPEC §2, §8)."""
from django.db import models
from django.db.models import Q
from django.utils import timezone

from predictions.choices import DecisionAction, MetricStatus, Stage, TriggerReason


class FeatureLayout(models.Model):
    """The sorted names of the numeric features packed in a prediction's
    ``numeric_features`` (``predictions.feature_pack``); the key is a hash of them."""

    id = models.BigIntegerField(primary_key=True)
    names = models.JSONField()
    numbers_only = models.BooleanField()

    def __str__(self):
        return ", ".join(self.names)


class Prediction(models.Model):
    """One prediction a model service made, and later the outcome it turned out to have."""

    prediction_id = models.CharField(max_length=128, unique=True)
    model_version = models.CharField(max_length=64)
    timestamp = models.DateTimeField(default=timezone.now)
    predicted_outcome = models.IntegerField()
    confidence = models.FloatField()
    features = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    actual_outcome = models.IntegerField(null=True, blank=True)
    actual_outcome_timestamp = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # The numeric features again, packed as float64 in the layout's order, for the drift
    # reader (predictions.feature_pack); NULL before packing existed. No constraint and no
    # index: a write path stores the layout first, and nothing looks rows up by layout.
    feature_layout = models.ForeignKey(
        FeatureLayout, null=True, blank=True, editable=False, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+",
    )
    numeric_features = models.BinaryField(null=True, blank=True)
    # The keys not packed (strings, booleans, nulls, …) as JSON text; NULL when none.
    # NULL, not "": string_agg skips NULLs, so none leaves no empty entry in the list.
    other_features = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # Every metric query filters by version and window. On PostgreSQL the columns
            # the ROC AUC and latency percentiles read ride along (INCLUDE), so those scans
            # are index-only passes that never visit the table (SPEC §9); SQLite ignores it.
            models.Index(
                fields=["model_version", "timestamp"],
                include=["predicted_outcome", "confidence", "actual_outcome", "latency_ms"],
                name="prediction_version_time_cover",
            ),
            models.Index(fields=["timestamp"], name="prediction_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0.0) & Q(confidence__lte=1.0),
                name="prediction_confidence_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(latency_ms__isnull=True) | Q(latency_ms__gte=0.0),
                name="prediction_latency_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.prediction_id} ({self.model_version})"

    def save(self, *args, **kwargs):
        """Pack the numeric features (as every write path does) unless only other fields
        are saved."""
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "features" in update_fields:
            from predictions.feature_pack import packed_for_save

            (self.feature_layout_id, self.numeric_features,
             self.other_features) = packed_for_save(
                self.features, kwargs.get("using") or self._state.db or "default"
            )
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "feature_layout",
                                           "numeric_features", "other_features"}
        super().save(*args, **kwargs)

    @property
    def has_outcome(self):
        return self.actual_outcome is not None


class HealthSnapshot(models.Model):
    """The metrics of one model version over one window, at one moment."""

    # The window's figures stored as columns (null when not computable); every other metric
    # of the window goes into ``metrics``. One list for the service, the API and the pages.
    METRIC_FIELDS = (
        "accuracy",
        "precision",
        "recall",
        "f1_score",
        "roc_auc",
        "brier_score",
        "expected_calibration_error",
    )
    COUNT_FIELDS = ("num_predictions", "num_with_outcome")
    # Set against the version's previous snapshot when the snapshot is stored.
    TREND_FIELDS = ("prediction_accuracy_trend", "degradation_detected")

    timestamp = models.DateTimeField(default=timezone.now)
    model_version = models.CharField(max_length=64)
    window_minutes = models.PositiveIntegerField(default=60)
    accuracy = models.FloatField(null=True, blank=True)
    precision = models.FloatField(null=True, blank=True)
    recall = models.FloatField(null=True, blank=True)
    f1_score = models.FloatField(null=True, blank=True)
    roc_auc = models.FloatField(null=True, blank=True)
    expected_calibration_error = models.FloatField(null=True, blank=True)
    brier_score = models.FloatField(null=True, blank=True)
    num_predictions = models.PositiveIntegerField(default=0)
    num_with_outcome = models.PositiveIntegerField(default=0)
    prediction_accuracy_trend = models.FloatField(null=True, blank=True)
    degradation_detected = models.BooleanField(default=False)
    # Every other metric computed for the window (avg_confidence, label_coverage, latency,
    # drift figures, …) and the calibration bins, for rule history and charts.
    metrics = models.JSONField(default=dict, blank=True)
    # Set by the monitor loop: the interval slot this snapshot was computed for, so that
    # two monitor processes never store two snapshots of one version for one slot.
    monitor_slot = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-timestamp", "-id"]
        get_latest_by = "timestamp"
        indexes = [
            models.Index(fields=["model_version", "timestamp"], name="snapshot_version_time"),
            models.Index(fields=["timestamp"], name="snapshot_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "window_minutes", "monitor_slot"],
                condition=Q(monitor_slot__isnull=False),
                name="snapshot_one_per_monitor_slot",
            ),
        ]

    def __str__(self):
        return f"{self.model_version} @ {self.timestamp:%Y-%m-%d %H:%M}"


class PerformanceMetric(models.Model):
    """A named metric value recorded over a window (the legacy metrics.jsonl)."""

    timestamp = models.DateTimeField(default=timezone.now)
    metric_name = models.CharField(max_length=64)
    value = models.FloatField()
    window_size = models.PositiveIntegerField(default=0)
    threshold = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=MetricStatus.choices, default=MetricStatus.NORMAL
    )
    model_version = models.CharField(max_length=64, blank=True, default="")
    # What the service said about the value (pushed metrics, SPEC §9); {} for legacy rows.
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["metric_name", "timestamp"], name="metric_name_time")]

    def __str__(self):
        return f"{self.metric_name}={self.value:.4f} @ {self.timestamp:%Y-%m-%d %H:%M}"


class ModelVersion(models.Model):
    """A registered model version: its stage, training figures and drift reference."""

    version = models.CharField(max_length=64, unique=True)
    model_name = models.CharField(max_length=128)
    algorithm = models.CharField(max_length=128, blank=True, default="")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.REGISTERED)
    accuracy = models.FloatField(null=True, blank=True)
    precision = models.FloatField(null=True, blank=True)
    recall = models.FloatField(null=True, blank=True)
    f1_score = models.FloatField(null=True, blank=True)
    roc_auc = models.FloatField(null=True, blank=True)
    brier_score = models.FloatField(null=True, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    feature_names = models.JSONField(default=list, blank=True)
    training_samples = models.PositiveIntegerField(null=True, blank=True)
    mlflow_run_id = models.CharField(max_length=128, blank=True, default="")
    model_path = models.CharField(max_length=512, blank=True, default="")
    metadata_path = models.CharField(max_length=512, blank=True, default="")
    reference_start = models.DateTimeField(null=True, blank=True)
    reference_end = models.DateTimeField(null=True, blank=True)
    # When, and by whom, the version last went to production (other moves leave them).
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_name", "-created_at"]
        indexes = [models.Index(fields=["model_name", "stage"], name="modelversion_name_stage")]
        constraints = [
            models.UniqueConstraint(
                fields=["model_name"],
                condition=Q(stage=Stage.PRODUCTION),
                name="one_production_version_per_model",
            ),
            models.CheckConstraint(
                condition=Q(reference_start__isnull=True)
                | Q(reference_end__isnull=True)
                | Q(reference_start__lt=models.F("reference_end")),
                name="modelversion_reference_window_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.model_name} {self.version} ({self.stage})"


class ModelStageChange(models.Model):
    """One move of a version between stages: the model's timeline."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=16, blank=True, default="")
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=150, blank=True, default="")
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["version", "changed_at"], name="stagechange_version_time")]

    def __str__(self):
        return f"{self.version.version}: {self.from_stage or '-'} → {self.to_stage}"


class DriftReport(models.Model):
    """Feature drift of a version's current window against its reference window."""

    model_version = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    reference_start = models.DateTimeField()
    reference_end = models.DateTimeField()
    reference_rows = models.PositiveIntegerField()
    current_start = models.DateTimeField()
    current_end = models.DateTimeField()
    current_rows = models.PositiveIntegerField()
    features = models.JSONField(default=dict)
    num_features = models.PositiveIntegerField(default=0)
    num_drifted_features = models.PositiveIntegerField(default=0)
    feature_drift_ratio = models.FloatField(null=True, blank=True)
    drift_score = models.FloatField(null=True, blank=True)
    dataset_drift_detected = models.BooleanField(default=False)
    # Data quality of the current window (SPEC §13), from the same read: the largest
    # feature missing rate, the largest numeric out-of-range rate, the new categories.
    max_feature_missing_rate = models.FloatField(null=True, blank=True)
    max_out_of_range_rate = models.FloatField(null=True, blank=True)
    new_category_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        indexes = [
            models.Index(fields=["model_version", "created_at"], name="drift_version_time"),
        ]

    def __str__(self):
        return f"drift {self.model_version} @ {self.created_at:%Y-%m-%d %H:%M}"


class RetrainingDecision(models.Model):
    """The retraining pipeline's gate decision on a candidate version."""

    timestamp = models.DateTimeField(default=timezone.now)
    model_version = models.CharField(max_length=64)
    trigger_reason = models.CharField(max_length=16, choices=TriggerReason.choices)
    action = models.CharField(max_length=16, choices=DecisionAction.choices)
    drift_context = models.JSONField(default=dict, blank=True)
    data_context = models.JSONField(default=dict, blank=True)
    decision_details = models.JSONField(default=dict, blank=True)
    labeled_samples = models.PositiveIntegerField(null=True, blank=True)
    coverage_pct = models.FloatField(null=True, blank=True)
    # The alerting.AgentAction that led here. A string reference keeps predictions free of
    # Python imports of alerting; with to_field the column holds the action's action_id,
    # the string the API reads and writes. Deleting the action leaves the decision, unlinked.
    action_ref = models.ForeignKey(
        "alerting.AgentAction",
        to_field="action_id",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retraining_decisions",
    )
    recorded_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["model_version", "timestamp"], name="decision_version_time"),
        ]

    def __str__(self):
        return f"{self.action} {self.model_version} ({self.trigger_reason})"


# --- Hourly aggregates (SPEC §9) ----------------------------------------------------------
# Kept exact as predictions and outcomes are written (predictions/rollups.py), so that
# series and windows read a few rows per hour instead of every prediction. `hour` is the
# number of whole hours since the Unix epoch (UTC): 6 h and 1 d buckets are integer
# divisions of it, the same in SQLite and PostgreSQL.

CALIBRATION_BINS = 10


class PredictionHour(models.Model):
    """Label-free sums of one version's predictions in one hour, per predicted class."""

    model_version = models.CharField(max_length=64)
    hour = models.BigIntegerField()
    predicted_outcome = models.IntegerField()
    n = models.BigIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    # Σ(c − ½) and Σ(c − ½)²: the variance from these stays clear of cancellation.
    shifted_sum = models.FloatField(default=0.0)
    shifted_squares = models.FloatField(default=0.0)
    entropy_sum = models.FloatField(default=0.0)
    low = models.FloatField(null=True)
    high = models.FloatField(null=True)
    with_latency = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "hour", "predicted_outcome"],
                name="predictionhour_key",
            ),
        ]

    def __str__(self):
        return f"{self.model_version} hour {self.hour} predicted {self.predicted_outcome}"


class OutcomeHour(models.Model):
    """Sums of one version's labelled predictions in one hour, per (predicted, actual).

    The ten ``bin*`` pairs are the count and confidence sum per equal-width calibration
    bin, so that the expected calibration error of any run of hours is exact.
    """

    model_version = models.CharField(max_length=64)
    hour = models.BigIntegerField()
    predicted_outcome = models.IntegerField()
    actual_outcome = models.IntegerField()
    n = models.BigIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    # Σ (score of class 1 − label)²: the Brier score's numerator (binary models).
    squared_error = models.FloatField(default=0.0)
    bin0_n = models.BigIntegerField(default=0)
    bin1_n = models.BigIntegerField(default=0)
    bin2_n = models.BigIntegerField(default=0)
    bin3_n = models.BigIntegerField(default=0)
    bin4_n = models.BigIntegerField(default=0)
    bin5_n = models.BigIntegerField(default=0)
    bin6_n = models.BigIntegerField(default=0)
    bin7_n = models.BigIntegerField(default=0)
    bin8_n = models.BigIntegerField(default=0)
    bin9_n = models.BigIntegerField(default=0)
    bin0_confidence = models.FloatField(default=0.0)
    bin1_confidence = models.FloatField(default=0.0)
    bin2_confidence = models.FloatField(default=0.0)
    bin3_confidence = models.FloatField(default=0.0)
    bin4_confidence = models.FloatField(default=0.0)
    bin5_confidence = models.FloatField(default=0.0)
    bin6_confidence = models.FloatField(default=0.0)
    bin7_confidence = models.FloatField(default=0.0)
    bin8_confidence = models.FloatField(default=0.0)
    bin9_confidence = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "hour", "predicted_outcome", "actual_outcome"],
                name="outcomehour_key",
            ),
        ]

    def __str__(self):
        return (
            f"{self.model_version} hour {self.hour} "
            f"{self.predicted_outcome}→{self.actual_outcome}"
        )


class CustomMetricHour(models.Model):
    """Count, sum, minimum and maximum of one named metric of a version in one hour."""

    metric_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64, blank=True, default="")
    hour = models.BigIntegerField()
    count = models.BigIntegerField(default=0)
    value_sum = models.FloatField(default=0.0)
    low = models.FloatField(null=True)
    high = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric_name", "model_version", "hour"], name="custommetrichour_key"
            ),
        ]

    def __str__(self):
        return f"{self.metric_name} {self.model_version or '-'} hour {self.hour}"

"""Named choices of the predictions app, used by models, serializers, filters and forms."""
from django.db import models


class MetricName(models.TextChoices):
    """Every metric a snapshot carries and an alert rule may watch (SPEC §4, §8)."""

    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    F1_SCORE = "f1_score"
    ROC_AUC = "roc_auc"
    BRIER_SCORE = "brier_score"
    EXPECTED_CALIBRATION_ERROR = "expected_calibration_error"
    NUM_PREDICTIONS = "num_predictions"
    AVG_CONFIDENCE = "avg_confidence"
    MIN_CONFIDENCE = "min_confidence"
    MAX_CONFIDENCE = "max_confidence"
    CONFIDENCE_STD = "confidence_std"
    LABEL_COVERAGE = "label_coverage"
    OVERCONFIDENCE_GAP = "overconfidence_gap"
    PREDICTION_ACCURACY_TREND = "prediction_accuracy_trend"
    DEGRADATION_DETECTED = "degradation_detected"
    LATENCY_P50_MS = "latency_p50_ms"
    LATENCY_P95_MS = "latency_p95_ms"
    POSITIVE_RATE = "positive_rate"
    PREDICTION_ENTROPY = "prediction_entropy"
    FEATURE_DRIFT_RATIO = "feature_drift_ratio"
    NUM_DRIFTED_FEATURES = "num_drifted_features"
    DATASET_DRIFT_DETECTED = "dataset_drift_detected"
    DRIFT_SCORE = "drift_score"
    MAX_FEATURE_MISSING_RATE = "max_feature_missing_rate"
    MAX_OUT_OF_RANGE_RATE = "max_out_of_range_rate"
    NEW_CATEGORY_COUNT = "new_category_count"


# The metrics that come from a drift report rather than from the prediction aggregates.
DRIFT_METRICS = frozenset(
    {
        MetricName.FEATURE_DRIFT_RATIO,
        MetricName.NUM_DRIFTED_FEATURES,
        MetricName.DATASET_DRIFT_DETECTED,
        MetricName.DRIFT_SCORE,
    }
)
# The figures of labelled predictions: an alert on one of them names the version's worst
# segments (SPEC §13), where the model fails.
PERFORMANCE_METRICS = frozenset(
    {
        MetricName.ACCURACY,
        MetricName.PRECISION,
        MetricName.RECALL,
        MetricName.F1_SCORE,
        MetricName.ROC_AUC,
        MetricName.BRIER_SCORE,
        MetricName.EXPECTED_CALIBRATION_ERROR,
        MetricName.OVERCONFIDENCE_GAP,
        MetricName.PREDICTION_ACCURACY_TREND,
        MetricName.DEGRADATION_DETECTED,
    }
)
# The data-quality metrics of a drift report (SPEC §13): rule component "data_quality".
DATA_QUALITY_METRICS = frozenset(
    {
        MetricName.MAX_FEATURE_MISSING_RATE,
        MetricName.MAX_OUT_OF_RANGE_RATE,
        MetricName.NEW_CATEGORY_COUNT,
    }
)
# Every metric a drift report gives, evaluated when a report is computed.
REPORT_METRICS = DRIFT_METRICS | DATA_QUALITY_METRICS
# The component a rule on these metrics files its alerts under, when none is given.
METRIC_COMPONENTS = {
    **dict.fromkeys(DRIFT_METRICS, "drift"),
    **dict.fromkeys(DATA_QUALITY_METRICS, "data_quality"),
}


class MetricStatus(models.TextChoices):
    NORMAL = "normal"
    WARNING = "warning"
    ALERT = "alert"


class Stage(models.TextChoices):
    REGISTERED = "registered"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


# Shown for a model_version that predictions carry but nobody registered.
UNREGISTERED_STAGE = "unregistered"


class TriggerReason(models.TextChoices):
    SCHEDULED = "scheduled"
    DRIFT = "drift"
    MANUAL = "manual"
    ALERT = "alert"


class DecisionAction(models.TextChoices):
    PROMOTE = "promote"
    REJECT = "reject"


# Stage → the badge colour the stylesheet already has.
STAGE_BADGES = {
    "production": "resolved",
    "staging": "info",
    "registered": "delivery-pending",
    "archived": "delivery-pending",
    "unregistered": "delivery-pending",
}

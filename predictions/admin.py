"""Admin for predictions and what is measured from them."""
from django.contrib import admin

from predictions.models import (
    HealthSnapshot,
    PerformanceMetric,
    Prediction,
)


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["prediction_id", "model_version", "timestamp", "predicted_outcome",
                    "confidence", "actual_outcome"]
    list_filter = ["model_version"]
    search_fields = ["=prediction_id"]
    date_hierarchy = "timestamp"
    show_full_result_count = False


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(admin.ModelAdmin):
    list_display = ["model_version", "timestamp", "accuracy", "f1_score",
                    "expected_calibration_error", "num_predictions", "degradation_detected"]
    list_filter = ["model_version", "degradation_detected"]
    date_hierarchy = "timestamp"
    show_full_result_count = False


admin.site.register(PerformanceMetric)

from predictions import registry_admin  # noqa: F401,E402

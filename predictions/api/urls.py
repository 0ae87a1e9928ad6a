"""REST routes of the predictions app, mounted under /api/v1/."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from predictions.api import (
    custom_metric_views,
    ingest_views,
    metric_views,
    registry_views,
    segment_views,
    series_views,
    snapshot_views,
)

router = SimpleRouter(trailing_slash=True)
router.register("predictions", ingest_views.PredictionViewSet, basename="prediction")
router.register("health-snapshots", snapshot_views.HealthSnapshotViewSet, basename="healthsnapshot")
# The model registry, drift reports and retraining decisions (SPEC §8).
router.register("model-versions", registry_views.ModelVersionViewSet, basename="modelversion")
router.register("drift-reports", registry_views.DriftReportViewSet, basename="driftreport")
router.register(
    "retraining-decisions", registry_views.RetrainingDecisionViewSet, basename="retrainingdecision"
)

urlpatterns = [
    path("outcomes/", ingest_views.OutcomesView.as_view(), name="outcomes"),
    path(
        "metrics/performance/",
        metric_views.PerformanceMetricsView.as_view(),
        name="metrics-performance",
    ),
    path("metrics/accuracy/", metric_views.AccuracyMetricsView.as_view(), name="metrics-accuracy"),
    path(
        "metrics/calibration/",
        metric_views.CalibrationMetricsView.as_view(),
        name="metrics-calibration",
    ),
    path(
        "metrics/classification/",
        metric_views.ClassificationMetricsView.as_view(),
        name="metrics-classification",
    ),
    path("metrics/trend/", metric_views.TrendView.as_view(), name="metrics-trend"),
    path("metrics/series/", series_views.SeriesView.as_view(), name="metrics-series"),
    path("metrics/segments/", segment_views.SegmentsView.as_view(), name="metrics-segments"),
    path("metrics/custom/", custom_metric_views.CustomMetricsView.as_view(), name="metrics-custom"),
    path(
        "metrics/custom/series/",
        custom_metric_views.CustomSeriesView.as_view(),
        name="metrics-custom-series",
    ),
    *router.urls,
]

"""REST views of the metrics (SPEC §4, §8) and of the snapshot trend, JSON or CSV.

Thin faces over predictions.metrics: parse the window, compute, answer.
"""
import csv
import io
from datetime import timedelta

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring_site.api.renderers import FastJSONRenderer
from predictions import metrics
from predictions.api.common import READ_ERRORS, parse_query
from predictions.api.serializers import (
    AccuracyMetricsSerializer,
    CalibrationMetricsSerializer,
    CalibrationQuerySerializer,
    ClassificationMetricsSerializer,
    HealthSnapshotSerializer,
    MetricsQuerySerializer,
    PerformanceMetricsSerializer,
    TrendQuerySerializer,
    TrendSerializer,
)
from predictions.models import HealthSnapshot


class MetricsView(APIView):
    """Base of the metrics endpoints: parse the window, compute, answer."""

    query_serializer = MetricsQuerySerializer

    def compute(self, window: metrics.MetricWindow, params):
        raise NotImplementedError

    def get(self, request):
        params = parse_query(self.query_serializer, request)
        version = params.get("model_version") or None
        if "start" in params:
            window = metrics.MetricWindow(version, params["start"], params.get("end"))
        else:  # window_minutes None (calibration's default): all time
            window = metrics.MetricWindow.last(version, params["window_minutes"])
        return Response(self.compute(window, params))


@extend_schema(
    summary="Confidence, latency and label-free figures over a window",
    parameters=[MetricsQuerySerializer],
    responses={200: PerformanceMetricsSerializer, **READ_ERRORS},
)
class PerformanceMetricsView(MetricsView):
    def compute(self, window, params):
        return metrics.performance_metrics(window)


@extend_schema(
    summary="True accuracy over the labelled predictions of a window",
    parameters=[MetricsQuerySerializer],
    responses={200: AccuracyMetricsSerializer, **READ_ERRORS},
)
class AccuracyMetricsView(MetricsView):
    def compute(self, window, params):
        return metrics.accuracy_metrics(window)


@extend_schema(
    summary="Calibration bins, ECE and MCE (window absent: all time)",
    parameters=[CalibrationQuerySerializer],
    responses={200: CalibrationMetricsSerializer, **READ_ERRORS},
)
class CalibrationMetricsView(MetricsView):
    query_serializer = CalibrationQuerySerializer

    def compute(self, window, params):
        return metrics.calibration_metrics(window, n_bins=params["n_bins"])


@extend_schema(
    summary="Precision, recall, F1, ROC AUC and Brier score over a window",
    parameters=[MetricsQuerySerializer],
    responses={200: ClassificationMetricsSerializer, **READ_ERRORS},
)
class ClassificationMetricsView(MetricsView):
    def compute(self, window, params):
        return metrics.classification_metrics(window)


# The CSV columns: a snapshot's fields as the JSON shows them, less its id and the
# nested metrics.
TREND_COLUMNS = [
    name for name in HealthSnapshotSerializer.Meta.fields if name not in ("id", "metrics")
]


class TrendCSVRenderer(renderers.BaseRenderer):
    """``?format=csv`` (or Accept: text/csv): the trend's snapshots as CSV rows.

    DRF reserves the ``format`` query parameter for choosing a renderer, so CSV is a
    renderer here rather than a branch in the view. Errors render as a one-row table.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        if isinstance(data, dict) and "snapshots" in data:
            writer = csv.DictWriter(out, fieldnames=TREND_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(data["snapshots"])
        else:
            writer = csv.writer(out)
            errors = data if isinstance(data, dict) else {"detail": data}
            writer.writerow(list(errors))
            writer.writerow([str(value) for value in errors.values()])
        return out.getvalue().encode(self.charset)


class TrendView(APIView):
    """Health snapshots of the last hours, oldest first, as JSON or CSV."""

    renderer_classes = [FastJSONRenderer, TrendCSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        # DRF answers an unknown ?format= with 404 (and ignores a blank one): both are
        # bad parameters (400).
        bad_format = ValidationError({"format": ["Choose json or csv."]})
        if not force and request.query_params.get("format", "json") not in ("json", "csv"):
            raise bad_format
        try:
            return super().perform_content_negotiation(request, force)
        except (Http404, NotFound):
            raise bad_format from None

    @extend_schema(
        summary="Health snapshots over the last hours, in time order (JSON or CSV)",
        parameters=[
            TrendQuerySerializer,
            OpenApiParameter(
                "format", str, enum=["json", "csv"], description="csv: a CSV table."
            ),
        ],
        responses={
            (200, "application/json"): TrendSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **READ_ERRORS,
        },
    )
    def get(self, request):
        params = parse_query(TrendQuerySerializer, request)
        since = timezone.now() - timedelta(hours=params["hours"])
        snapshots = HealthSnapshot.objects.filter(timestamp__gte=since)
        if params.get("model_version"):
            snapshots = snapshots.filter(model_version=params["model_version"])
        snapshots = snapshots.order_by("timestamp", "id")
        return Response(
            {
                "model_version": params.get("model_version") or None,
                "hours": params["hours"],
                "snapshots": HealthSnapshotSerializer(snapshots, many=True).data,
            }
        )

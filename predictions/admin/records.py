"""Admin for predictions and what is measured from them.

Prediction and HealthSnapshot tables grow to millions of rows, so their change lists
never count the whole table (``show_full_result_count = False`` and a paginator whose
count is capped or estimated), never compute filter choices with a table scan (the model
version filter asks the index for its distinct values), and search by exact id only.
"""
from datetime import datetime, timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections, models
from django.utils import timezone
from django.utils.functional import cached_property

from predictions.overview import distinct_model_versions


class CappedCountPaginator(Paginator):
    """A paginator that never runs COUNT(*) over a whole huge table.

    - Unfiltered on PostgreSQL: the planner's row estimate (``pg_class.reltuples``),
      when it is above ``count_cap`` (the last pages may then be short or empty).
    - Otherwise: the rows are counted up to ``count_cap`` (``COUNT`` over a
      ``LIMIT``-ed subquery), so a filter matching millions of rows costs at most
      ``count_cap`` index entries; pages beyond the cap are not offered.
    """

    count_cap = 100_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        estimate = self._estimated_table_rows(queryset)
        if estimate is not None and estimate > self.count_cap:
            return estimate
        return queryset.order_by()[: self.count_cap].count()

    @staticmethod
    def _estimated_table_rows(queryset):
        if queryset.query.where:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class ProbingDatesQuerySet(models.QuerySet):
    """A queryset whose ``datetimes()`` probes the index once per bucket.

    The admin's date drill-down asks ``queryset.datetimes(field, "day")``, a
    ``SELECT DISTINCT date_trunc(…)`` that reads every row of the month (300 ms over a
    million predictions). Here each distinct day (month, year) costs one
    ``MIN(timestamp) WHERE timestamp >= next bucket`` — an index probe.
    """

    max_buckets = 400

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order, tzinfo)
        tz = tzinfo or timezone.get_current_timezone()
        rows = self.order_by()
        buckets = []
        earliest = rows.aggregate(at=models.Min(field_name))["at"]
        while earliest is not None and len(buckets) < self.max_buckets:
            local = timezone.localtime(earliest, tz)
            bucket = datetime(
                local.year,
                1 if kind == "year" else local.month,
                local.day if kind == "day" else 1,
            )
            buckets.append(timezone.make_aware(bucket, tz))
            following = timezone.make_aware(_next_bucket(bucket, kind), tz)
            earliest = rows.filter(**{f"{field_name}__gte": following}).aggregate(
                at=models.Min(field_name)
            )["at"]
        return buckets[::-1] if order == "DESC" else buckets


def _next_bucket(bucket: datetime, kind: str) -> datetime:
    if kind == "day":
        return bucket + timedelta(days=1)
    if kind == "month":
        return bucket.replace(year=bucket.year + bucket.month // 12, month=bucket.month % 12 + 1)
    return bucket.replace(year=bucket.year + 1)


class ModelVersionFilter(admin.SimpleListFilter):
    """Filter by model version; the choices come from the index, not a table scan."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        versions = distinct_model_versions(model_admin.model)
        return [(version, version or "(blank)") for version in versions]

    def queryset(self, request, queryset):
        if self.value() is not None:
            return queryset.filter(model_version=self.value())
        return queryset


class HasOutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "has_outcome"

    def lookups(self, request, model_admin):
        return [("yes", "With outcome"), ("no", "Without outcome")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(actual_outcome__isnull=self.value() == "no")
        return queryset


class HugeTableAdmin(admin.ModelAdmin):
    """Change list settings for tables with millions of rows."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 500
    date_hierarchy = "timestamp"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return ProbingDatesQuerySet(model=queryset.model, query=queryset.query,
                                    using=queryset._db)


class PredictionAdmin(HugeTableAdmin):
    list_display = ["prediction_id", "model_version", "timestamp", "predicted_outcome",
                    "confidence", "actual_outcome", "latency_ms"]
    list_filter = [ModelVersionFilter, HasOutcomeFilter]
    # Exact match only: it uses the unique index, a LIKE '%…%' would scan the table.
    search_fields = ["=prediction_id"]
    search_help_text = "Exact prediction id."

    def get_search_results(self, request, queryset, search_term):
        # Exact and case-sensitive: "=" would be iexact (UPPER(…)), which the unique
        # index cannot serve.
        search_term = search_term.strip()
        if not search_term:
            return queryset, False
        return queryset.filter(prediction_id=search_term), False
    readonly_fields = ["actual_outcome_timestamp"]


class HealthSnapshotAdmin(HugeTableAdmin):
    list_display = ["model_version", "timestamp", "window_minutes", "accuracy", "f1_score",
                    "expected_calibration_error", "num_predictions", "num_with_outcome",
                    "degradation_detected"]
    list_filter = [ModelVersionFilter]
    readonly_fields = ["monitor_slot"]


class PerformanceMetricAdmin(HugeTableAdmin):
    list_display = ["metric_name", "timestamp", "value", "threshold", "status",
                    "model_version", "window_size"]
    list_filter = ["status"]
    search_fields = ["=metric_name"]

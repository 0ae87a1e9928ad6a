"""The predictions app's admin: every model it shows, registered here in one place.

Django's admin autodiscovery imports ``predictions.admin``; the ModelAdmin classes live
in the modules beside this one (``records``: the huge tables with capped counts;
``registry``: model versions and drift) and are registered explicitly below.
"""
from django.contrib import admin

from predictions.admin.records import (
    HealthSnapshotAdmin,
    PerformanceMetricAdmin,
    PredictionAdmin,
)
from predictions.admin.registry import (
    DriftReportAdmin,
    ModelStageChangeAdmin,
    ModelVersionAdmin,
    RetrainingDecisionAdmin,
)
from predictions.models import (
    DriftReport,
    HealthSnapshot,
    ModelStageChange,
    ModelVersion,
    PerformanceMetric,
    Prediction,
    RetrainingDecision,
)

admin.site.register(Prediction, PredictionAdmin)
admin.site.register(HealthSnapshot, HealthSnapshotAdmin)
admin.site.register(PerformanceMetric, PerformanceMetricAdmin)
admin.site.register(ModelVersion, ModelVersionAdmin)
admin.site.register(ModelStageChange, ModelStageChangeAdmin)
admin.site.register(DriftReport, DriftReportAdmin)
admin.site.register(RetrainingDecision, RetrainingDecisionAdmin)

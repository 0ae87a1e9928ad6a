"""Pages of the predictions app: the model registry and drift reports.

The dashboard (``/``) and the model version pages (``/models/<version>/``) show alerts
beside the metrics, so they are in the ``dashboard`` app (``dashboard.urls``), which
reads both predictions and alerting; ``predictions`` never imports ``alerting``.
"""
from django.urls import path

from predictions import registry_views

urlpatterns = [
    # The model registry and drift reports (SPEC §8).
    path("registry/", registry_views.registry, name="registry"),
    path("registry/<str:version>/", registry_views.version_page, name="registry-version"),
    path("drift/<int:report_id>/", registry_views.drift_report, name="drift-report"),
]

"""Pages of the predictions app.

The dashboard (``/``) and the model version pages (``/models/<version>/``) show alerts
beside the metrics, so they are served by ``alerting.urls`` (alerting reads predictions,
never the reverse); their templates are under ``templates/predictions/``.
"""
from django.urls import path

from predictions import registry_views

urlpatterns = [
    # The model registry and drift reports (SPEC §8).
    path("registry/", registry_views.registry, name="registry"),
    path("registry/<str:version>/", registry_views.version_page, name="registry-version"),
    path("drift/<int:report_id>/", registry_views.drift_report, name="drift-report"),
]

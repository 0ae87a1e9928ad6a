"""REST routes of the alerting app, mounted under /api/v1/."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from alerting.api import action_views, views

router = SimpleRouter(trailing_slash=True)
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("alert-rules", views.AlertRuleViewSet, basename="alertrule")
router.register("actions", action_views.AgentActionViewSet, basename="agentaction")

urlpatterns = [
    path(
        "health-snapshots/compute/",
        views.ComputeSnapshotsView.as_view(),
        name="health-snapshots-compute",
    ),
    path(
        "drift-reports/compute/", action_views.DriftComputeView.as_view(), name="drift-compute"
    ),
    *router.urls,
]

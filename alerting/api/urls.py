"""REST routes of the alerting app, mounted under /api/v1/."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from alerting.api import views

router = SimpleRouter(trailing_slash=True)
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("alert-rules", views.AlertRuleViewSet, basename="alertrule")

urlpatterns = [
    path(
        "health-snapshots/compute/",
        views.ComputeSnapshotsView.as_view(),
        name="health-snapshots-compute",
    ),
    *router.urls,
]

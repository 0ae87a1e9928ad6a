"""REST routes of the alerting app, mounted under /api/v1/."""
from rest_framework.routers import SimpleRouter

from alerting.api import action_views, silence_views, views

router = SimpleRouter(trailing_slash=True)
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("alert-rules", views.AlertRuleViewSet, basename="alertrule")
router.register("silences", silence_views.SilenceViewSet, basename="silence")
router.register("actions", action_views.AgentActionViewSet, basename="agentaction")

# POST health-snapshots/compute/ and drift-reports/compute/ live with their resources in
# predictions.api; the rules they evaluate are connected in alerting.receivers.
urlpatterns = router.urls

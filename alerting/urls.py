"""Pages of the alerting app: the dashboard, model pages and alerts (SPEC §6)."""
from django.urls import path

from alerting import action_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("models/<str:version>/", views.model_detail, name="model-detail"),
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<str:alert_id>/", views.alert_detail, name="alert-detail"),
    path("alerts/<str:alert_id>/acknowledge/", views.acknowledge, name="alert-acknowledge"),
    path("alerts/<str:alert_id>/resolve/", views.resolve, name="alert-resolve"),
    # The approval queue (SPEC §8).
    path("actions/", action_views.approval_queue, name="action-queue"),
    path("actions/<str:action_id>/review/", action_views.review_action, name="action-review"),
]

"""Pages of the alerting app: the alert list, one alert, its forms, the approval queue.

The dashboard (``/``) and the model version pages (``/models/<version>/``) show alerts
beside the metrics; they are in the ``dashboard`` app (``dashboard.urls``).
"""
from django.urls import path

from alerting import action_views, views

urlpatterns = [
    # Alerts (SPEC §6).
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<str:alert_id>/", views.alert_detail, name="alert-detail"),
    path("alerts/<str:alert_id>/acknowledge/", views.acknowledge, name="alert-acknowledge"),
    path("alerts/<str:alert_id>/resolve/", views.resolve, name="alert-resolve"),
    path("alerts/<str:alert_id>/silence/", views.silence_alert, name="alert-silence"),
    # Silences (SPEC §10).
    path("silences/", views.silence_list, name="silence-list"),
    path("silences/<int:silence_id>/expire/", views.expire_silence, name="silence-expire"),
    # The approval queue (SPEC §8).
    path("actions/", action_views.approval_queue, name="action-queue"),
    path("actions/<str:action_id>/review/", action_views.review_action, name="action-review"),
]

"""Pages of the alerting app: the dashboard, model pages and alerts (SPEC §6)."""
from django.urls import path

from alerting import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("models/<str:version>/", views.model_detail, name="model-detail"),
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<str:alert_id>/", views.alert_detail, name="alert-detail"),
    path("alerts/<str:alert_id>/acknowledge/", views.acknowledge, name="alert-acknowledge"),
    path("alerts/<str:alert_id>/resolve/", views.resolve, name="alert-resolve"),
]

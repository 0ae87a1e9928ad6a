"""Pages of the dashboard app: the overview of every model version, and one version's page."""
from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("models/<str:version>/", views.model_detail, name="model-detail"),
]

"""URL wiring: admin, health check, REST API and its schema, and the pages."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alerting.exporter_views import metrics
from monitoring_site.api import schema as _schema_extensions  # noqa: F401 (registers them)
from monitoring_site.api.root import ApiRootView
from monitoring_site.health import healthz

api_v1 = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("predictions.api.urls")),
    path("", include("alerting.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Prometheus's scrape target (SPEC §11): a bearer token, not a session.
    path("metrics", metrics, name="prometheus-metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("dashboard.urls")),
    path("", include("predictions.urls")),
    path("", include("alerting.urls")),
]

# Under /api/ a path that names nothing answers JSON like the rest of the API.
handler404 = "monitoring_site.api.exceptions.not_found"

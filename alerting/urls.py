"""Pages of the alerting app."""

urlpatterns = []

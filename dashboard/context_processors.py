"""Template context of every page: how often the self-refreshing pages refresh."""
from django.conf import settings


def page_refresh(request):
    """``refresh_seconds``: base.html's pages that opt in refresh every so many seconds."""
    return {"refresh_seconds": settings.MONITORING_PAGE_REFRESH_SECONDS}

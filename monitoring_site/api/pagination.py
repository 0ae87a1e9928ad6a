"""Pagination shared by the API's lists."""
from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    """Page numbers with a client-chosen page size (``?page_size=``, at most 1000)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class NewestFirstCursorPagination(CursorPagination):
    """Stable pagination of large, growing tables, newest first."""

    ordering = ("-timestamp", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

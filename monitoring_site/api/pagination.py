"""Pagination shared by the API's lists.

``page`` and ``page_size`` are checked, not guessed: ``page_size=abc`` or ``0`` is a 400
naming it (DRF would silently answer the default size), as is ``page=0``; a page past
the last one is a 404. The document states the same bounds.
"""
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 1000


def _positive_int(request, name, maximum=None):
    """The parameter as an int in [1, maximum], None when absent; else a 400 naming it."""
    if name not in request.query_params:
        return None
    raw = request.query_params[name]
    value = int(raw) if raw.isascii() and raw.isdigit() else 0
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum else ""
        raise ValidationError({name: [f"Give a whole number of at least 1{bound}."]})
    return value


def _bounded(parameters, bounds):
    for parameter in parameters:
        parameter["schema"].update(bounds.get(parameter["name"], {}))
    return parameters


class StrictPageSize:
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        size = _positive_int(request, self.page_size_query_param, self.max_page_size)
        return self.page_size if size is None else size


class PagePagination(StrictPageSize, PageNumberPagination):
    """Page numbers with a client-chosen page size (``?page_size=``, at most 1000)."""

    page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        return _bounded(super().get_schema_operation_parameters(view), {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        })


class NewestFirstCursorPagination(StrictPageSize, CursorPagination):
    """Stable pagination of large, growing tables, newest first."""

    ordering = ("-timestamp", "-id")
    page_size = 100

    def get_schema_operation_parameters(self, view):
        return _bounded(super().get_schema_operation_parameters(view), {
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        })

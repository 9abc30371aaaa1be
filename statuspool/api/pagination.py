"""Cursor pagination with ``?limit=`` (opaque cursors, stable under inserts)."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from rest_framework import pagination
from rest_framework.exceptions import NotFound


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF checks the cursor's shape; the position inside it is whatever the client wrote
        (``p=abc``) and would only fail in the query, as a 500. Check it against the ordering
        field first: a forged or corrupt cursor is the same 404 as an undecodable one."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            value = field.to_python(cursor.position)
            field.run_validators(value)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value.astimezone(UTC)  # overflows for year-1 values east of UTC
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class OldestFirst(CursorPagination):
    """For lists people read in creation order (monitors, keys); id breaks ties so cursors are exact."""

    ordering = ("created_at", "id")

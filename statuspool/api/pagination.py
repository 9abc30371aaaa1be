"""Cursor pagination with ``?limit=`` (opaque cursors, stable under inserts)."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"


class OldestFirst(CursorPagination):
    """For lists people read in creation order (monitors, keys); id breaks ties so cursors are exact."""

    ordering = ("created_at", "id")

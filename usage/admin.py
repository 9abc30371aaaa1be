"""Operators can read the request log in the admin; nobody can change it there."""

from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from usage.models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "credential_label", "method", "path", "status", "ip"]
    list_filter = ["credential_kind", "method", "status"]
    search_fields = ["credential_label", "path", "ip"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

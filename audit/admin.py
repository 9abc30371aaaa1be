"""Operators can read the audit trail in the admin; nobody can change it there."""

from django.contrib import admin

from audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "actor_email", "actor_kind", "action", "target_label"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["actor_email", "target_label", "actor_label"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # counting millions of rows on every page is not worth it

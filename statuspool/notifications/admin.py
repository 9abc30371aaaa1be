from django.contrib import admin, messages
from django.utils import timezone

from statuspool.notifications.models import OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """Read-only: operators watch the outbox and may retry what gave up, nothing else."""

    list_display = ["subject", "recipients", "template", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "template"]
    search_fields = ["subject", "dedup_key"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    readonly_fields = [
        "to",
        "subject",
        "template",
        "context",
        "dedup_key",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]

    @admin.display(description="To")
    def recipients(self, email):
        return ", ".join(email.to)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry now (pending or given-up emails only)")
    def retry_now(self, request, queryset):
        # Sent rows stay sent: retrying them would deliver the email twice.
        count = queryset.exclude(status=OutboxEmail.Status.SENT).update(
            status=OutboxEmail.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(
            request, f"{count} email(s) queued; the next sweep sends them.", messages.SUCCESS
        )

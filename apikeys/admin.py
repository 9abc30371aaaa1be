"""Operators' view of API keys: read-only metadata (never the digest) and a revoke action."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_revoke
from audit.services import Actor

HIDDEN = {"digest", "pepper_id"}


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "display_id", "account", "status", "created_at", "last_used_at")
    list_filter = ("status",)
    search_fields = ("name", "public_id", "account__name")
    list_select_related = ("account",)
    ordering = ("-created_at",)
    actions = ["revoke_selected"]
    exclude = tuple(HIDDEN)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ApiKey._meta.fields if field.name not in HIDDEN]

    # Keys are created, rotated and revoked through the services (audited, secret shown once).
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys (immediate and final)")
    def revoke_selected(self, request, queryset):
        revoked = 0
        for key in queryset.exclude(status=Status.REVOKED):
            try:
                apikey_revoke(
                    key=key,
                    actor=Actor.from_request(request),
                    reason="Revoked by an operator in the admin",
                    revoked_by=request.user,
                )
            except ValidationError:
                continue  # revoked concurrently
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)

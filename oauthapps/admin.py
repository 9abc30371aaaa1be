"""Operators' view of OAuth applications and grants: read-only, never a secret, audited actions.

django-oauth-toolkit registers editable admin pages for every one of its models (our swapped
Application, AccessToken, RefreshToken, Grant, IDToken and DeviceGrant). Through them an operator could change a
client secret or delete an application without an audit event, so they are all unregistered here.
What remains can only be changed through ``oauthapps.services`` (one transaction with its audit
event, the operator as actor): deleting an application, revoking a grant. Tokens and codes have no
page at all; their digests identify nothing an operator needs.
"""

from django.contrib import admin, messages

from audit.services import Actor
from oauthapps import services
from oauthapps.models import (
    AccessToken,
    Application,
    Authorization,
    DeviceGrant,
    Grant,
    IDToken,
    RefreshToken,
)

# Registered by oauth2_provider.admin, which Django's autodiscovery imports before this module
# (oauth2_provider comes first in INSTALLED_APPS). Device grants are codes too: no page.
for model in (Application, AccessToken, RefreshToken, Grant, IDToken, DeviceGrant):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ReadOnlyAdmin(admin.ModelAdmin):
    """View pages only. The actions need the model's delete permission, which superusers have;
    the plain delete stays disabled because it would bypass the audited service."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("name", "account", "client_id", "created")
    search_fields = ("name", "client_id", "account__name")
    list_select_related = ("account",)
    ordering = ("-created",)
    # An allowlist: client_secret (a digest) and DOT's unused fields never reach the page.
    fields = (
        "name",
        "account",
        "client_id",
        "description",
        "redirect_uris",
        "client_type",
        "authorization_grant_type",
        "created_by",
        "created",
        "updated",
        "secret_reset_at",
    )
    readonly_fields = fields
    actions = ["delete_with_tokens"]

    @admin.action(
        description="Delete selected applications (revokes every grant and token)",
        permissions=("revoke",),
    )
    def delete_with_tokens(self, request, queryset):
        actor = Actor.from_request(request)
        deleted = 0
        for application in queryset.select_related("account"):
            services.application_delete(application=application, actor=actor)
            deleted += 1
        self.message_user(request, f"Deleted {deleted} application(s).", messages.SUCCESS)


@admin.register(Authorization)
class AuthorizationAdmin(ReadOnlyAdmin):
    list_display = ("application", "user", "account", "scope_list", "created_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("application__name", "application__client_id", "user__email", "account__name")
    list_select_related = ("application", "user", "account")
    fields = (
        "application",
        "user",
        "account",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return " ".join(obj.ordered_scopes)

    @admin.action(
        description="Revoke selected grants (their access and refresh tokens stop working)",
        permissions=("revoke",),
    )
    def revoke_selected(self, request, queryset):
        actor = Actor.from_request(request)
        revoked = 0
        for authorization in queryset.active():
            services.authorization_revoke(
                authorization=authorization,
                actor=actor,
                reason="Revoked by an operator in the admin",
            )
            revoked += 1
        self.message_user(request, f"Revoked {revoked} grant(s).", messages.SUCCESS)

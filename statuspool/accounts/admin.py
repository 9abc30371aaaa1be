"""The operators' admin for people, accounts and memberships.

No secret is ever shown: TOTP seeds and recovery-code digests have no field here, and a user's
second factor can only be reset (an audited service call), never read. Accounts are created with
``manage.py createaccount`` (or sign-up) so they always get their owner, default key and audit
events; the admin edits them but does not add them.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from audit.services import Actor
from statuspool.accounts import services
from statuspool.accounts.models import Account, Membership, TOTPDevice, User


class MembershipAuditMixin:
    """Memberships edited inline are saved through the audited services, like on the dashboard."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        actor = Actor.from_request(request)
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_delete(membership=membership, actor=actor)
        for membership in formset.new_objects + [obj for obj, _ in formset.changed_objects]:
            services.membership_save(membership=membership, actor=actor)
        formset.save_m2m()


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AccountMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("account",)
    fields = ("account", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(MembershipAuditMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    search_fields = ("email", "full_name")
    list_display = ("email", "full_name", "two_factor", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = [UserMembershipInline]
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("totp_device")

    @admin.display(boolean=True, description="2FA")
    def two_factor(self, obj):
        return obj.has_2fa

    @admin.action(description="Reset two-factor authentication (the user enrolls again)")
    def reset_two_factor(self, request, queryset):
        actor = Actor.from_request(request)
        for user in queryset:
            services.twofactor_disable(user=user, actor=actor)
        messages.success(
            request, f"Two-factor authentication reset for {queryset.count()} user(s)."
        )


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ("name", "plan", "billing_email")


@admin.register(Account)
class AccountAdmin(MembershipAuditMixin, admin.ModelAdmin):
    form = AccountForm
    list_display = ("name", "plan", "owner_email", "billing_email", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "billing_email", "memberships__user__email")
    inlines = [AccountMembershipInline]

    def has_add_permission(self, request):
        return False  # manage.py createaccount: owner, default key and audit events together

    @admin.display(description="Owner")
    def owner_email(self, obj):
        owner = obj.owner
        return owner.email if owner else "—"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "account__name")
    autocomplete_fields = ("user", "account")
    list_select_related = ("user", "account")

    def save_model(self, request, obj, form, change):
        services.membership_save(membership=obj, actor=Actor.from_request(request))

    def delete_model(self, request, obj):
        services.membership_delete(membership=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        actor = Actor.from_request(request)
        for membership in queryset.select_related("user"):
            services.membership_delete(membership=membership, actor=actor)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """Whether someone has a confirmed authenticator; the seed itself is never loaded or shown."""

    list_display = ("user", "confirmed_at", "created_at", "unused_recovery_codes")
    search_fields = ("user__email",)
    fields = ("user", "confirmed_at", "created_at")
    readonly_fields = fields
    list_select_related = ("user",)
    actions = ["reset"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret")

    def has_add_permission(self, request):
        return False  # enrollment is done by the person, with their phone

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # use the audited reset action instead of a silent delete

    @admin.display(description="Unused recovery codes")
    def unused_recovery_codes(self, obj):
        return obj.user.recovery_codes.filter(used_at__isnull=True).count()

    @admin.action(description="Reset two-factor authentication (the user enrolls again)")
    def reset(self, request, queryset):
        actor = Actor.from_request(request)
        users = [device.user for device in queryset]
        for user in users:
            services.twofactor_disable(user=user, actor=actor)
        messages.success(request, f"Two-factor authentication reset for {len(users)} user(s).")

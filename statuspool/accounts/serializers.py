"""/v2 shapes of the team, invitations and billing details."""

from rest_framework import serializers

from statuspool.accounts.models import INVITABLE_ROLE_CHOICES, Invitation, Membership, Role
from statuspool.api.introspection import RateLimitsSerializer


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.full_name")
    has_2fa = serializers.SerializerMethodField(help_text="Two-factor authentication enrolled.")
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "has_2fa", "joined_at"]

    def get_has_2fa(self, membership) -> bool:
        return membership.user.has_2fa


class ApiKeyAllowanceSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Most non-revoked keys the account can have.")
    in_use = serializers.IntegerField(help_text="Keys counting toward the limit now.")


class BillingSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    account_name = serializers.CharField()
    plan = serializers.CharField(help_text="team or enterprise.")
    billing_email = serializers.EmailField()
    api_keys = ApiKeyAllowanceSerializer()
    members = serializers.IntegerField(help_text="People in the account.")
    rate_limits = RateLimitsSerializer(help_text="Per credential, per 60-second window.")
    ip_allowlisting = serializers.BooleanField(help_text="Available on the Enterprise plan.")


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Role.choices,
        help_text="admin or member; owner transfers ownership (only the owner's OAuth token).",
    )


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.EmailField(
        source="invited_by_email", help_text="Who sent it (empty when an API key did)."
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created_at", "sent_at", "expires_at"]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=INVITABLE_ROLE_CHOICES, default=Role.MEMBER)


class BillingUpdateSerializer(serializers.Serializer):
    billing_email = serializers.EmailField()

"""/v2 shapes of the team and billing details (read-only)."""

from rest_framework import serializers

from statuspool.accounts.models import Membership
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
    rate_limits = RateLimitsSerializer(help_text="Per credential, per 60-second window.")
    ip_allowlisting = serializers.BooleanField(help_text="Available on the Enterprise plan.")

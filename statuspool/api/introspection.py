"""GET /v2/credential: what the calling credential is, may do, and how fast."""

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from statuspool.api.permissions import ANY_CREDENTIAL
from statuspool.api.throttling import WINDOW_SECONDS
from statuspool.api.views import ApiView


def plan_rate_limits(plan: str) -> dict:
    limits = settings.API_RATE_LIMITS[plan]
    return {
        resource: {"limit": limits[resource], "window_seconds": WINDOW_SECONDS}
        for resource in ("read", "write")
    }


class RateLimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Requests per window.")
    window_seconds = serializers.IntegerField()


class RateLimitsSerializer(serializers.Serializer):
    read = RateLimitSerializer(help_text="GET, HEAD and OPTIONS requests.")
    write = RateLimitSerializer(help_text="Every other method.")


class AccountSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    plan = serializers.CharField()


class CredentialOutputSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="api_key or oauth_token.")
    label = serializers.CharField(help_text="The key's public id (sp_live_…) or the app's name.")
    account = AccountSummarySerializer()
    scopes = serializers.ListField(child=serializers.CharField())
    rate_limits = RateLimitsSerializer()
    allowed_networks = serializers.ListField(
        child=serializers.CharField(), help_text="CIDR blocks; empty means any address."
    )
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the credential stops working by itself, if ever."
    )


class CredentialView(ApiView):
    """The credential this request was made with: its account, scopes, rate limits and expiry."""

    required_scopes = {"GET": ANY_CREDENTIAL}

    @extend_schema(responses=CredentialOutputSerializer, operation_id="credential_retrieve")
    def get(self, request):
        credential = self.credential
        # The authenticator's cache carries the account's name and plan: no query when warm.
        name = credential.account_name or self.account.name
        data = {
            "type": credential.kind,
            "label": credential.label,
            "account": {"id": credential.account_id, "name": name, "plan": credential.plan},
            "scopes": sorted(credential.scopes),
            "rate_limits": plan_rate_limits(credential.plan),
            "allowed_networks": list(credential.allowed_networks),
            # Parsed so it is written like every other /v2 timestamp.
            "expires_at": parse_datetime(credential.expires_at) if credential.expires_at else None,
        }
        return Response(CredentialOutputSerializer(data).data)

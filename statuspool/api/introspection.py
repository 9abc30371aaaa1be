"""GET /v2/credential: what the calling credential is, may do, and how fast."""

from functools import lru_cache

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.timezone import get_current_timezone
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


_TIMESTAMP = serializers.DateTimeField()


@lru_cache(maxsize=1024)  # one per credential expiry a process shows, per time zone
def _timestamp(moment: str, zone) -> str:
    """``moment`` (ISO 8601) written like every other /v2 timestamp, in ``zone``, the current
    time zone (an argument so that a response in another zone gets its own entry)."""
    return _TIMESTAMP.to_representation(parse_datetime(moment))


def credential_body(
    *, kind, label, account_id, account_name, plan, scopes, allowed_networks, expires_at
) -> dict:
    """The body of GET /v2/credential, exactly what ``CredentialOutputSerializer`` renders
    (a test holds them equal), built directly: instantiating the nested serializer (deep copies
    of its fields) cost more than the whole authentication of a warm request."""
    return {
        "type": kind,
        "label": label,
        "account": {"id": account_id, "name": account_name, "plan": plan},
        "scopes": sorted(scopes),
        "rate_limits": plan_rate_limits(plan),
        "allowed_networks": list(allowed_networks),
        # Parsed and written like every other /v2 timestamp (an OAuth token's, on every request).
        "expires_at": _timestamp(expires_at, get_current_timezone()) if expires_at else None,
    }


class CredentialView(ApiView):
    """The credential this request was made with: its account, scopes, rate limits and expiry."""

    required_scopes = {"GET": ANY_CREDENTIAL}

    @extend_schema(responses=CredentialOutputSerializer, operation_id="credential_retrieve")
    def get(self, request):
        credential = self.credential
        return Response(
            credential_body(
                kind=credential.kind,
                label=credential.label,
                account_id=credential.account_id,
                # The authenticator's cache carries the account's name and plan: no query.
                account_name=credential.account_name or self.account.name,
                plan=credential.plan,
                scopes=credential.scopes,
                allowed_networks=credential.allowed_networks,
                expires_at=credential.expires_at,
            )
        )

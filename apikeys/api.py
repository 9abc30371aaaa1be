"""/v2 API key metadata and revocation (teams:admin)."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apikeys.models import ApiKey, Status
from apikeys.serializers import ApiKeySerializer, RevokeSerializer
from apikeys.services import apikey_revoke
from statuspool.api.actors import api_actor
from statuspool.api.errors import ApiError
from statuspool.api.generics import AccountScopedView, ListMixin, RetrieveMixin
from statuspool.api.pagination import OldestFirst
from usage import insight
from usage.api import requested_window
from usage.models import RollupKind
from usage.serializers import CredentialUsageSerializer, UsageQuerySerializer


class _ApiKeyView(AccountScopedView):
    queryset = ApiKey.objects.select_related("created_by", "rotated_from").with_creator_membership()
    output_serializer_class = ApiKeySerializer
    pagination_class = OldestFirst
    lookup_field = "public_id"
    required_scopes = {"GET": "teams:admin"}


class ApiKeyList(ListMixin, _ApiKeyView):
    """Every API key of the account, revoked ones included (metadata only, never a secret)."""


class ApiKeyDetail(RetrieveMixin, _ApiKeyView):
    """One API key's metadata."""


class ApiKeyRevoke(_ApiKeyView):
    """Revoke a key now, for good. Takes effect on every server on the next request."""

    required_scopes = {"POST": "teams:admin"}
    input_serializer_class = RevokeSerializer

    @extend_schema(request=RevokeSerializer, responses=ApiKeySerializer)
    def post(self, request, public_id):
        body = self.get_input_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = self.get_object()
        if key.status == Status.REVOKED:
            raise ApiError("already_revoked", "This key is already revoked.", 409)
        actor, user = api_actor(request)
        try:
            apikey_revoke(
                key=key, actor=actor, reason=body.validated_data.get("reason", ""), revoked_by=user
            )
        except ValidationError as refused:  # e.g. revoked by someone else a moment ago
            raise ApiError("conflict", " ".join(refused.messages), 409)
        return Response(self.get_serializer(key).data)


class ApiKeyUsage(_ApiKeyView):
    """The key's requests over the window: per hour (24h) or UTC day (7d, 30d, 90d) by status
    class with p95 latency, totals, top endpoints and client addresses. Counted when the request
    log is flushed (a few seconds behind); kept after the key is revoked."""

    queryset = ApiKey.objects.only("id", "account_id", "public_id")

    @extend_schema(parameters=[UsageQuerySerializer], responses=CredentialUsageSerializer)
    def get(self, request, public_id):
        window = requested_window(request)
        key = self.get_object()
        usage = insight.credential_usage(RollupKind.API_KEY, [key.pk], window)
        return Response(CredentialUsageSerializer(usage).data)

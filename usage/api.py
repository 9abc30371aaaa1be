"""/v2/usage: every credential of the account ranked by requests over a window (teams:admin).

One key's own numbers are /v2/api-keys/{id}/usage (apikeys.api), from the same ``usage.insight``.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from statuspool.api.errors import ApiError
from statuspool.api.views import ApiView
from usage import insight
from usage.serializers import AccountUsageSerializer, UsageQuerySerializer


def requested_window(request) -> str:
    """The ?window= of ``request`` (24h by default); a 400 naming the allowed ones otherwise."""
    query = UsageQuerySerializer(data=request.query_params)
    if not query.is_valid():
        # A query parameter, not a body: say which one and what it accepts.
        raise ApiError("invalid_request", " ".join(query.errors["window"]), 400)
    return query.validated_data["window"]


class AccountUsageView(ApiView):
    """Requests, error rate and 429s of every API key and OAuth authorization of the account over
    the window, busiest first, with the per-minute peak of each hour or day (read from hourly
    rollups written when the request log is flushed, a few seconds behind)."""

    required_scopes = {"GET": "teams:admin"}

    @extend_schema(parameters=[UsageQuerySerializer], responses=AccountUsageSerializer)
    def get(self, request):
        usage = insight.account_usage(self.credential.account_id, requested_window(request))
        return Response(AccountUsageSerializer(usage).data)

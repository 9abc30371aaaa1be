"""The real URL map plus the peers of /v2/credential and /v2/monitors, for ``bench.peers`` only.

Each peer serves the same body as the project's endpoint (the same serializer, the same account
fields) behind a stock authentication: none, DRF's plaintext TokenAuthentication, the same plus a
Redis-backed throttle, and django-oauth-toolkit's OAuth2Authentication. The account is fixed at
import from BENCH_ACCOUNT_ID and read once, so a peer's cost is its authentication and the body.
They live under /v2/ so they pass the same middleware as the project's endpoints (the dashboard's
steps aside there), and come first so that resolving them costs them nothing extra.
"""

import os

from django.urls import path
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.introspection import credential_body
from statuspool.monitoring.api import MonitorList
from statuspool.urls import urlpatterns as app_urlpatterns

ACCOUNT_ID = int(os.environ.get("BENCH_ACCOUNT_ID", "0"))
_ACCOUNT: dict = {}


def _account() -> dict:
    if not _ACCOUNT:
        from statuspool.accounts.models import Account

        account = Account.objects.get(pk=ACCOUNT_ID)
        _ACCOUNT.update(id=account.pk, name=account.name, plan=account.plan)
    return _ACCOUNT


class BenchThrottle(UserRateThrottle):
    """DRF's own cache throttle (a get and a set on the Redis cache per request), never refusing."""

    rate = "100000000/min"


class PeerCredential(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def get(self, request):
        account = _account()
        # The same body as GET /v2/credential, built by the same function.
        return Response(
            credential_body(
                kind="peer",
                label=str(getattr(request.user, "pk", "")),
                account_id=account["id"],
                account_name=account["name"],
                plan=account["plan"],
                scopes=["monitors:read"],
                allowed_networks=[],
                expires_at=None,
            )
        )


class DrfToken(PeerCredential):
    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)


class DrfTokenThrottled(DrfToken):
    throttle_classes = (BenchThrottle,)


class DotOAuth2(PeerCredential):
    authentication_classes = (OAuth2Authentication,)
    permission_classes = (IsAuthenticated,)


_CREDENTIAL = Credential(
    kind=CredentialKind.API_KEY,
    id=0,
    account_id=ACCOUNT_ID,
    plan="enterprise",
    scopes=frozenset({"monitors:read"}),
)


class DrfTokenMonitors(MonitorList):
    """GET /v2/monitors' own view and serializer behind DRF's TokenAuthentication only."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)
    throttle_classes = ()

    @property
    def credential(self):
        return _CREDENTIAL

    def account_scoped(self, queryset):
        return queryset.filter(account_id=ACCOUNT_ID)


urlpatterns = [
    path("v2/bench-peers/none", PeerCredential.as_view()),
    path("v2/bench-peers/token", DrfToken.as_view()),
    path("v2/bench-peers/token-throttle", DrfTokenThrottled.as_view()),
    path("v2/bench-peers/dot", DotOAuth2.as_view()),
    path("v2/bench-peers/token-monitors", DrfTokenMonitors.as_view()),
    *app_urlpatterns,
]

"""The real URL map plus /bench/bare/monitors: the same view as GET /v2/monitors, without the
pipeline (no authentication, allowlist, scope check, rate limit, usage tracking or request log).

The view still needs an account to filter by; it gets the benchmark account's, fixed at import
from BENCH_ACCOUNT_ID, without touching ``request.auth`` (a credential there would send
``api_request_finished`` and bring usage tracking back).
"""

import os

from django.urls import path

from statuspool.api.credentials import Credential, CredentialKind
from statuspool.monitoring.api import MonitorList
from statuspool.urls import urlpatterns as app_urlpatterns

_CREDENTIAL = Credential(
    kind=CredentialKind.API_KEY,
    id=0,
    account_id=int(os.environ.get("BENCH_ACCOUNT_ID", "0")),
    plan="enterprise",
    scopes=frozenset({"monitors:read"}),
)


class BareMonitorList(MonitorList):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()

    @property
    def credential(self):
        return _CREDENTIAL

    def account_scoped(self, queryset):
        return queryset.filter(account_id=_CREDENTIAL.account_id)


urlpatterns = [path("bench/bare/monitors", BareMonitorList.as_view()), *app_urlpatterns]

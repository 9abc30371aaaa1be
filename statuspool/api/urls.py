"""/v2: the monitoring API. Each app contributes its routes; every view declares its scopes."""

from django.urls import include, path

urlpatterns = [
    path("", include("statuspool.monitoring.api_urls")),
    path("", include("statuspool.accounts.api_urls")),
    path("", include("apikeys.api_urls")),
    path("", include("audit.api_urls")),
]

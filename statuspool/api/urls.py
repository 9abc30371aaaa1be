"""/v2: the monitoring API. Each app contributes its routes; every view declares its scopes."""

from django.urls import include, path

from statuspool.api.docs import DocsView, SchemaView
from statuspool.api.introspection import CredentialView

urlpatterns = [
    path("credential", CredentialView.as_view(), name="api-credential"),
    path("", include("statuspool.monitoring.api_urls")),
    path("", include("statuspool.accounts.api_urls")),
    path("", include("apikeys.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("usage.api_urls")),
    path("schema", SchemaView.as_view(), name="api-schema"),
    path("docs", DocsView.as_view(), name="api-docs"),
]

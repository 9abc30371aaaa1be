"""Step 1 of the /v2 pipeline: turn ``Authorization: Bearer …`` into a ``Credential``.

The value's prefix picks the authenticator (settings.API_CREDENTIAL_AUTHENTICATORS), so API keys
and OAuth access tokens share every later step. Credentials in the query string or the body are
refused outright, and session cookies never authenticate /v2.
"""

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication

from statuspool.api.errors import ApiError, InvalidToken

_CREDENTIAL_PARAMS = ("access_token", "api_key", "key", "token")


def _authenticators():
    cache = getattr(_authenticators, "_cache", None)
    if cache is None:
        cache = {
            prefix: import_string(path)
            for prefix, path in settings.API_CREDENTIAL_AUTHENTICATORS.items()
        }
        _authenticators._cache = cache
    return cache


def _refuse_credentials_outside_header(request) -> None:
    query = request._request.GET
    if any(name in query for name in _CREDENTIAL_PARAMS) or any(
        "sp_live_" in value or "sp_oat_" in value for value in query.values()
    ):
        raise ApiError(
            "credential_in_url",
            "Credentials are accepted only in the Authorization header, never in the URL. "
            "Treat a key sent in a URL as leaked and rotate it.",
            400,
        )


class BearerCredentialAuthentication(BaseAuthentication):
    def authenticate(self, request):
        _refuse_credentials_outside_header(request)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidToken("Use the Bearer scheme: 'Authorization: Bearer sp_live_…'.")
        value = value.strip()
        for prefix, authenticate in _authenticators().items():
            if value.startswith(prefix):
                credential = authenticate(value, request)
                return (None, credential)
        raise InvalidToken()

    def authenticate_header(self, request):
        return 'Bearer realm="StatusPool", error="invalid_token"'

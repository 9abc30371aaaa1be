"""Step 1 of the /v2 pipeline: turn ``Authorization: Bearer …`` into a ``Credential``.

The value's prefix picks the authenticator (settings.API_CREDENTIAL_AUTHENTICATORS), so API keys
and OAuth access tokens share every later step. Credentials in the URL or the body are refused
before this runs (``ApiView.initial``, step 0), and session cookies never authenticate /v2: this
is the only authentication class the API uses.
"""

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication

from statuspool.api.errors import WWW_AUTHENTICATE, InvalidToken
from statuspool.api.throttling import record_failed_authentication, refuse_blocked_client

_imported: dict[str, object] = {}


def authenticator_for(value: str):
    """The authenticator of the value's prefix, imported on first use.

    Imported one by one so a credential kind whose module fails to import breaks only itself.
    """
    for prefix, path in settings.API_CREDENTIAL_AUTHENTICATORS.items():
        if value.startswith(prefix):
            if path not in _imported:
                _imported[path] = import_string(path)
            return _imported[path]
    return None


def split_authorization(header: str) -> tuple[str, str]:
    """(scheme in lower case, credential) of an Authorization header's value."""
    scheme, _, value = header.partition(" ")
    return scheme.lower(), value.strip()


class BearerCredentialAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        # Failed authentications are limited per client address so keys cannot be enumerated.
        # Only failures are limited: a well-formed credential is always checked, so one broken
        # script behind an office NAT does not lock out the valid keys sharing its address. A
        # malformed value is refused before any lookup; past the limit, failures get 429.
        try:
            return (None, self._credential(header, request))
        except InvalidToken:
            refuse_blocked_client(request)
            record_failed_authentication(request)
            raise

    def _credential(self, header: str, request):
        scheme, value = split_authorization(header)
        if scheme not in ("bearer", "dpop") or not value:
            raise InvalidToken("Use the Bearer scheme: 'Authorization: Bearer sp_live_…'.")
        authenticate = authenticator_for(value)
        if authenticate is None:
            raise InvalidToken()
        # RFC 9449: only a credential kind that checks DPoP proofs may be sent as "DPoP"; each
        # such authenticator reads the scheme itself (a bound token must not pass as Bearer).
        if scheme == "dpop" and not getattr(authenticate, "accepts_dpop", False):
            raise InvalidToken("This credential is a bearer credential: use the Bearer scheme.")
        return authenticate(value, request)

    def authenticate_header(self, request):
        return WWW_AUTHENTICATE

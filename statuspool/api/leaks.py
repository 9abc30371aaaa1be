"""Credentials anywhere but the Authorization header are refused (step 0 of the /v2 pipeline).

A key in a URL ends up in proxy logs, browser history and Referer headers; a key in a JSON body is
usually a client putting the wrong field in the wrong place. Either way it must be treated as
leaked, so the request is refused (400) with a message telling the caller to rotate the key, and
nothing of the value is echoed back or logged.
"""

from django.conf import settings
from django.http import JsonResponse

from statuspool.api.errors import ApiError, error_body
from statuspool.credential_format import CREDENTIAL_PATTERN

# Field names that only ever carry a credential.
CREDENTIAL_FIELD_NAMES = frozenset(
    {"access_token", "api_key", "apikey", "key", "refresh_token", "token"}
)
_MAX_DEPTH = 20  # JSON nested deeper than this is not a request body we serve anyway

URL_MESSAGE = (
    "Credentials are accepted only in the Authorization header, never in the URL. "
    "Treat a key sent in a URL as leaked: revoke or rotate it now."
)
BODY_MESSAGE = (
    "Credentials are accepted only in the Authorization header, never in the request body. "
    "Treat a key sent in a body as leaked: revoke or rotate it now."
)


def looks_like_credential(value) -> bool:
    return isinstance(value, str) and CREDENTIAL_PATTERN.search(value) is not None


def _body_carries_credential(data, depth: int = 0) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(data, dict):
        return any(
            (isinstance(name, str) and name.lower() in CREDENTIAL_FIELD_NAMES)
            or _body_carries_credential(value, depth + 1)
            for name, value in data.items()
        )
    if isinstance(data, list):
        return any(_body_carries_credential(item, depth + 1) for item in data)
    return looks_like_credential(data)


def url_carries_credential(django_request) -> bool:
    query = django_request.GET
    return any(name.lower() in CREDENTIAL_FIELD_NAMES for name in query) or any(
        looks_like_credential(value) for _, values in query.lists() for value in values
    )


def refuse_credentials_in_url(django_request) -> None:
    if url_carries_credential(django_request):
        raise ApiError("credential_in_url", URL_MESSAGE, 400)


def credential_in_url_response() -> JsonResponse:
    """The same refusal for views outside the /v2 pipeline's error handling (schema, docs)."""
    return JsonResponse(error_body("credential_in_url", URL_MESSAGE), status=400)


def refuse_credentials_in_body(request) -> None:
    """``request`` is DRF's: its ``data`` is the parsed JSON (parsed once, reused by the view)."""
    if request.stream is None:  # no body at all: nothing to parse
        return
    if _body_carries_credential(request.data):
        raise ApiError("credential_in_body", BODY_MESSAGE, 400)


# --- Plain http ----------------------------------------------------------------------------------
HTTPS_MESSAGE = (
    "This server accepts credentials only over https. The credential in this request crossed the "
    "network unencrypted: treat it as leaked, revoke or rotate it, and use https://."
)
_FORM_FIELDS = CREDENTIAL_FIELD_NAMES | {"client_secret", "password"}


def carries_credential(django_request) -> bool:
    """An Authorization header, a credential in the URL, or a credential field in a form body."""
    if django_request.META.get("HTTP_AUTHORIZATION") or url_carries_credential(django_request):
        return True
    if django_request.method == "POST" and django_request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return any(name.lower() in _FORM_FIELDS for name in django_request.POST)
    return False


class PlainHttpCredentialMiddleware:
    """With SECURE_SSL_REDIRECT on (production), a plain-http request carrying a credential is
    refused instead of redirected: a redirect would make the client send it a second time, and
    the first copy was already readable on the network. Must run before SecurityMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SECURE_SSL_REDIRECT and not request.is_secure() and carries_credential(request):
            return JsonResponse(error_body("https_required", HTTPS_MESSAGE), status=400)
        return self.get_response(request)

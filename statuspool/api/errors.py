"""One JSON error format for every /v2 status: {"error": {"code": ..., "message": ...}}."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status

logger = logging.getLogger("statuspool.api")

WWW_AUTHENTICATE = 'Bearer realm="StatusPool", error="invalid_token"'


class ApiError(exceptions.APIException):
    """An error with an explicit machine-readable code."""

    def __init__(self, code: str, message: str, status_code: int, headers: dict | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.extra_headers = headers or {}


class InvalidToken(ApiError):
    def __init__(
        self,
        message="The bearer credential is missing, malformed, unknown, expired or revoked.",
        code="invalid_token",
    ):
        super().__init__(code, message, status.HTTP_401_UNAUTHORIZED)

    def get_codes(self):
        return self.error_code


_DEFAULT_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "insufficient_scope",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
    413: "payload_too_large",
    429: "rate_limited",
}


def _message(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_message(value)}" for key, value in detail.items())
    return str(detail)


def error_body(code: str, message: str, fields=None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc, context):
    # Imported here: rest_framework.views imports the authentication classes, which import us.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object in this account.")
    elif isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        # Django's SuspiciousOperation would become its HTML 400 page.
        exc = ApiError(
            "payload_too_large",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's 500 handler (JSON for /v2, see urls.py)
    status_code = response.status_code
    code = getattr(exc, "error_code", None) or _DEFAULT_CODES.get(status_code, "error")
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        code = "validation_failed"
        fields = exc.detail if isinstance(exc.detail, dict) else None
        message = "The request body is not valid." if fields else _message(exc.detail)
    else:
        message = (
            _message(response.data.get("detail", response.data))
            if isinstance(response.data, dict)
            else _message(response.data)
        )
    response.data = error_body(code, message, fields)
    if status_code == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in getattr(exc, "extra_headers", {}).items():
        response[name] = value
    if code == "credential_in_url":
        _log_without_query(context.get("request"), response)
    return response


def _log_without_query(request, response) -> None:
    """Log the refusal ourselves: Django's own line attaches the request, whose repr (and any
    error reporter) includes the query string, i.e. the leaked credential."""
    response._has_been_logged = True  # read by django.utils.log.log_response
    path = request.path if request is not None else "?"
    logger.warning("Bad Request: %s (credential in the URL; query string not logged)", path)


def json_error(code: str, message: str, status_code: int) -> JsonResponse:
    """For the few places outside DRF (404/500 handlers under /v2)."""
    return JsonResponse(error_body(code, message), status=status_code)

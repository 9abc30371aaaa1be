"""``POST /v2/leaks``: GitHub's secret-scanning partner endpoint.

Unauthenticated by credential (there is none to present), authenticated by signature instead:
the raw body must carry a valid ECDSA signature of a configured key, or the answer is 401 before
anything in it is read. Limited per client address, bounded in size and in tokens per report.
"""

import json
import logging

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor, ActorKind
from statuspool.api.errors import ApiError
from statuspool.client_ip import client_ip
from statuspool.leak_reports.services import LeakedItem, leak_report_process
from statuspool.leak_reports.signature import signature_is_valid

logger = logging.getLogger(__name__)

REPORTER = "GitHub secret scanning"
MAX_BODY_BYTES = 1024 * 1024


class _RawBody(BaseParser):
    """The signature covers the exact bytes; nothing is parsed before it is checked."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


def _rate_limited(request) -> bool:
    try:
        usage = get_usage(
            request,
            group="leak-reports",
            key=lambda group, req: client_ip(req) or "unknown",
            rate=settings.LEAK_REPORT_RATE,
            method=["POST"],
            increment=True,
        )
    except Exception:  # the shared cache is down: the signature still guards the endpoint
        logger.warning("leak reports: rate-limit counter unavailable; serving the report")
        return False
    return bool(usage and usage["should_limit"])


def _items(body: bytes) -> list[LeakedItem]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ApiError("invalid_request", "The body must be a JSON array.", 400)
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise ApiError("invalid_request", "The body must be a JSON array of objects.", 400)
    if len(data) > settings.LEAK_REPORT_MAX_TOKENS:
        raise ApiError(
            "too_many_tokens",
            f"At most {settings.LEAK_REPORT_MAX_TOKENS} tokens per report.",
            400,
        )
    items = []
    for entry in data:
        fields = {name: entry.get(name, "") for name in ("token", "type", "url", "source")}
        if not all(isinstance(value, str) for value in fields.values()) or not fields["token"]:
            raise ApiError(
                "invalid_request",
                "Each entry needs a string token (and string type, url, source).",
                400,
            )
        items.append(LeakedItem(**fields))
    return items


class LeakReportView(APIView):
    """Intentionally public (no credential): the signature is the authentication."""

    public_endpoint = True
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [_RawBody]
    schema = None

    def post(self, request):
        if _rate_limited(request):
            raise ApiError(
                "rate_limited",
                "Too many leak reports; try again in a minute.",
                429,
                {"Retry-After": "60"},
            )
        body = request._request.body
        if len(body) > MAX_BODY_BYTES:
            raise ApiError("payload_too_large", "A report may be at most 1 MiB.", 413)
        key_id = request.META.get("HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER", "")
        signature = request.META.get("HTTP_GITHUB_PUBLIC_KEY_SIGNATURE", "")
        if not signature_is_valid(body=body, key_id=key_id, signature_b64=signature):
            logger.warning("leak report refused: bad or missing signature (key id %r)", key_id[:80])
            raise ApiError(
                "invalid_signature", "The report's signature is missing or invalid.", 401
            )
        actor = Actor(
            kind=ActorKind.SYSTEM,
            label=REPORTER,
            ip=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
        )
        return Response(leak_report_process(items=_items(body), actor=actor))

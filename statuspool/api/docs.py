"""The two public /v2 pages: the OpenAPI schema and Swagger UI, both served without any CDN.

Swagger UI comes from drf-spectacular-sidecar under /static/. Its initialisation script is served
as a separate same-origin request (drf-spectacular's split view) so the page works under our
``script-src 'self'``. The only relaxation is for the one inline ``<style>`` block of the page's
template, allowed by its SHA-256 hash rather than by ``'unsafe-inline'``; the rest of the site keeps
the strict policy.
"""

import base64
import hashlib
import re

from csp.decorators import csp_update
from django.template.loader import get_template
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

_SWAGGER_TEMPLATE = "drf_spectacular/swagger_ui.html"


def _inline_style_sources() -> list[str]:
    """CSP hash sources of the template's inline <style> blocks (static text, no variables)."""
    source = get_template(_SWAGGER_TEMPLATE).template.source
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in re.findall(r"<style>(.*?)</style>", source, flags=re.DOTALL)
    ]


class _PublicEndpoint:
    """Intentionally public: no credential, no scope. The resolver test checks this marker."""

    public_endpoint = True
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class SchemaView(_PublicEndpoint, SpectacularAPIView):
    pass


# Computed when the URLconf is loaded (apps are ready by then) from the template actually in use.
@method_decorator(csp_update({"style-src": _inline_style_sources()}), name="dispatch")
class DocsView(_PublicEndpoint, SpectacularSwaggerSplitView):
    url_name = "api-schema"
    title = "StatusPool API v2"

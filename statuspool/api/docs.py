"""The two public /v2 pages: the OpenAPI schema and Swagger UI, both served without any CDN.

Swagger UI comes from drf-spectacular-sidecar under /static/. Its initialisation script is served
as a separate same-origin request (drf-spectacular's split view) so the page works under our
``script-src 'self'``. Our own page template (templates/api/docs.html) has no inline style, a
``lang``, a way back to the dashboard, the rate-limit headers and error codes, and a theme
(static/css/api-docs.css) that passes axe-core's contrast checks.
"""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny


class _PublicEndpoint:
    """Intentionally public: no credential, no scope. The resolver test checks this marker."""

    public_endpoint = True
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class SchemaView(_PublicEndpoint, SpectacularAPIView):
    pass


class DocsView(_PublicEndpoint, SpectacularSwaggerSplitView):
    url_name = "api-schema"
    title = "StatusPool API v2"
    template_name = "api/docs.html"

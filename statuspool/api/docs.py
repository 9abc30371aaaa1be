"""The two public /v2 pages: the OpenAPI schema and Swagger UI, both served without any CDN.

Swagger UI comes from drf-spectacular-sidecar under /static/. Its initialisation script is served
as a separate same-origin request (drf-spectacular's split view) so the page works under our
``script-src 'self'``. Our own page template (templates/api/docs.html) has no inline style, a
``lang``, a way back to the dashboard, the rate-limit headers and error codes, and a theme
(static/css/api-docs.css) that passes axe-core's contrast checks.
"""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from statuspool.api.leaks import credential_in_url_response, url_carries_credential


class _PublicEndpoint:
    """Intentionally public: no credential, no scope. The resolver test checks this marker."""

    public_endpoint = True
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def dispatch(self, request, *args, **kwargs):
        # Public, but a key in its URL is still a leaked key: refused like on the rest of /v2,
        # as JSON (these views' own renderers are YAML/OpenAPI and HTML).
        if url_carries_credential(request):
            return credential_in_url_response()
        return super().dispatch(request, *args, **kwargs)


class SchemaView(_PublicEndpoint, SpectacularAPIView):
    pass


class DocsView(_PublicEndpoint, SpectacularSwaggerSplitView):
    url_name = "api-schema"
    title = "StatusPool API v2"
    template_name = "api/docs.html"

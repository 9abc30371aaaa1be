"""DOT's bridge from Django requests to oauthlib, plus the one fact oauthlib cannot see.

DOT hands oauthlib the request path only; a DPoP proof's ``htu`` names the absolute URL (RFC 9449
§4.3), which only Django can work out (host validated against ALLOWED_HOSTS, scheme through the
trusted proxy header). It travels to the grants' hooks in a header name no client can send:
client headers reach ``META`` as ``HTTP_…``, and this key is overwritten on every request.
"""

from oauth2_provider.oauth2_backends import OAuthLibCore

REQUEST_URL_HEADER = "StatusPool-Request-URL"


class StatusPoolOAuthLibCore(OAuthLibCore):
    def extract_headers(self, request):
        headers = super().extract_headers(request)
        headers[REQUEST_URL_HEADER] = request.build_absolute_uri(request.path)
        return headers

"""The machine-facing endpoints: /oauth/token, /oauth/revoke, /oauth/introspect.

DOT's views over our oauthlib server (oauthapps.server) and validator (oauthapps.validator). Each
request runs in one database transaction: the authorization code row stays locked from its
validation until its tokens are committed, so two concurrent redemptions cannot both succeed, and
what a refused request revokes (a replayed code's tokens, a reused refresh token's family) is
committed together with its audit event.
"""

from django.db import transaction
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(dot_views.TokenView):
    def post(self, request, *args, **kwargs):
        # DOT would route grant_type=device_code to its device flow; we have none, so every
        # request goes through oauthlib, which answers unsupported_grant_type.
        with transaction.atomic():
            return self.authorization_flow_token_response(request)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        if app_authorized.has_listeners():
            return super().authorization_flow_token_response(request, *args, **kwargs)
        # DOT reads the new access token back only to send app_authorized, which nothing here
        # listens to: one statement less.
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


@method_decorator(csrf_exempt, name="dispatch")
class RevokeView(dot_views.RevokeTokenView):
    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().post(request, *args, **kwargs)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """RFC 7662 through oauthlib's endpoint: the caller must authenticate as a client, and only
    learns about tokens issued to itself (StatusPoolValidator.introspect_token)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        headers, body, status = core.server.create_introspect_response(
            uri, http_method, body, headers
        )
        response = HttpResponse(content=body, status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response

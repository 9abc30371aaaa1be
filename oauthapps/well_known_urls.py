"""RFC 8414 authorization server metadata at the site root: /.well-known/oauth-authorization-server.

DOT's view, driven by the OAUTH2_PROVIDER settings (response type "code", PKCE method S256,
client_secret_basic / client_secret_post, the grant types we run), plus what DOT does not know
about: the device authorization endpoint (RFC 8628 §4) and the DPoP algorithms (RFC 9449 §5.1).
"""

import json

from django.urls import path, reverse
from oauth2_provider.views import OAuthServerMetadataView

from oauthapps.dpop import ALGORITHMS


class MetadataView(OAuthServerMetadataView):
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["device_authorization_endpoint"] = request.build_absolute_uri(
            reverse("oauth2_provider:device-authorization")
        )
        data["dpop_signing_alg_values_supported"] = list(ALGORITHMS)
        data["token_endpoint_auth_methods_supported"] = [
            *data.get("token_endpoint_auth_methods_supported", []),
            "none",  # public clients (device flow) identify themselves with client_id alone
        ]
        response.content = json.dumps(data)
        return response


urlpatterns = [
    path(
        "oauth-authorization-server",
        MetadataView.as_view(),
        name="oauth_authorization_server_metadata",
    ),
]

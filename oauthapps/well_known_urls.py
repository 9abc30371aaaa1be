"""RFC 8414 authorization server metadata at the site root: /.well-known/oauth-authorization-server.

DOT's view, driven by the OAUTH2_PROVIDER settings: response type "code", grant types
authorization_code and refresh_token, PKCE method S256, client_secret_basic / client_secret_post.
"""

from django.urls import path
from oauth2_provider.views import OAuthServerMetadataView

urlpatterns = [
    path(
        "oauth-authorization-server",
        OAuthServerMetadataView.as_view(),
        name="oauth_authorization_server_metadata",
    ),
]

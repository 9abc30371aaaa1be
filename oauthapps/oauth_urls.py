"""The authorization server, mounted at /oauth/.

The namespace is DOT's own ("oauth2_provider") because DOT's RFC 8414 metadata view finds the
endpoints it advertises by these names.
"""

from django.urls import path

from oauthapps.views.authorize import authorize
from oauthapps.views.endpoints import IntrospectView, RevokeView, TokenView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize", authorize, name="authorize"),
    path("token", TokenView.as_view(), name="token"),
    path("revoke", RevokeView.as_view(), name="revoke-token"),
    path("introspect", IntrospectView.as_view(), name="introspect"),
]

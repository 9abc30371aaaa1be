"""The authorization server, mounted at /oauth/.

The namespace is DOT's own ("oauth2_provider") because DOT's RFC 8414 metadata view finds the
endpoints it advertises by these names.
"""

from django.urls import path

from oauthapps.views.authorize import authorize
from oauthapps.views.device import device_authorization
from oauthapps.views.endpoints import IntrospectView, RevokeView, TokenView
from oauthapps.views.logos import application_logo

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize", authorize, name="authorize"),
    path("token", TokenView.as_view(), name="token"),
    path("revoke", RevokeView.as_view(), name="revoke-token"),
    path("introspect", IntrospectView.as_view(), name="introspect"),
    path("device_authorization", device_authorization, name="device-authorization"),
    path("logos/<str:client_id>/<str:digest>.png", application_logo, name="application-logo"),
]

"""Settings screens of the OAuth part, mounted at /settings/."""

from django.urls import path

from oauthapps.views import applications, connected

app_name = "oauthapps"

urlpatterns = [
    path("oauth-applications/", applications.application_list, name="application_list"),
    path("oauth-applications/new/", applications.application_register, name="application_register"),
    path(
        "oauth-applications/<int:pk>/", applications.application_detail, name="application_detail"
    ),
    path(
        "oauth-applications/<int:pk>/edit/", applications.application_edit, name="application_edit"
    ),
    path(
        "oauth-applications/<int:pk>/reset-secret/",
        applications.application_reset_secret,
        name="application_reset_secret",
    ),
    path(
        "oauth-applications/<int:pk>/delete/",
        applications.application_delete,
        name="application_delete",
    ),
    path("connected-applications/", connected.connected_list, name="connected_list"),
    path("connected-applications/<int:pk>/", connected.connected_detail, name="connected_detail"),
    path(
        "connected-applications/<int:pk>/revoke/",
        connected.connected_revoke,
        name="connected_revoke",
    ),
]

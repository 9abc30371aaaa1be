"""URL map. Each app owns its URLs; /v2 is the monitoring API, /oauth the authorization server."""

import sys

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from django.views.decorators.http import require_GET

from statuspool import database
from statuspool.api.errors import json_error
from statuspool.leak_reports.views import LeakReportView


@require_GET
def home(request):
    return redirect("monitoring:monitor_list")


urlpatterns = [
    # /v2 first: Django tries the patterns in order, and every /v2 request would otherwise walk
    # every dashboard pattern before its own (a third of a warm request's CPU, issue 12). No
    # dashboard path starts with v2/. A leak report carries no credential (its signature
    # authenticates it), so it is matched before the credential-authenticated API.
    path("v2/leaks", LeakReportView.as_view(), name="leak_report"),
    path("v2/", include("statuspool.api.urls")),
    path("", home, name="home"),
    path("", include("statuspool.accounts.urls")),
    path("", include("statuspool.onboarding.urls")),
    path("monitors/", include("statuspool.monitoring.urls")),
    path("settings/api-access/", include("apikeys.urls")),
    path("settings/api-access/", include("apikeys.restriction_urls")),
    path("settings/", include("oauthapps.urls")),
    path("settings/audit-log/", include("audit.urls")),
    path("settings/usage/", include("usage.urls")),
    path("settings/audit-log/", include("apikeys.exposure_urls")),
    path("oauth/", include("oauthapps.oauth_urls")),
    path("", include("oauthapps.device_urls")),
    path(".well-known/", include("oauthapps.well_known_urls")),
    path("admin/", admin.site.urls),
]


def handler404(request, exception=None):
    if request.path == "/v2" or request.path.startswith("/v2/"):
        return json_error("not_found", "No such endpoint.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    # A database outage raised outside a view (middleware) arrives here: 503, not 500.
    unavailable = database.response_for(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    if request.path == "/v2" or request.path.startswith("/v2/"):
        return json_error("server_error", "Something went wrong on our side.", 500)
    from django.views.defaults import server_error

    return server_error(request)

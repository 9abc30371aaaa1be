"""The exposure review of one key (mounted at /settings/audit-log/, beside audit.urls)."""

from django.urls import path

from apikeys import exposure_views

app_name = "apikeys_requests"

urlpatterns = [
    path("requests/", exposure_views.key_requests, name="requests"),
    path(
        "requests/export.csv",
        exposure_views.key_requests_export,
        {"fmt": "csv"},
        name="requests_export",
    ),
    path(
        "requests/export.jsonl",
        exposure_views.key_requests_export,
        {"fmt": "jsonl"},
        name="requests_export_jsonl",
    ),
]

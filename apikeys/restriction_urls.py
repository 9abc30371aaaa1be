"""A key's IP restrictions and Usage Alerts (mounted at /settings/api-access/ beside apikeys.urls)."""

from django.urls import path

from apikeys import restriction_views

app_name = "apikeys_restrictions"

urlpatterns = [
    path("<str:public_id>/allowlist/", restriction_views.allowlist_edit, name="allowlist"),
    path("<str:public_id>/usage-alerts/", restriction_views.usage_alerts_set, name="usage_alerts"),
]

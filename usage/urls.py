"""Settings → Usage (mounted at /settings/usage/)."""

from django.urls import path

from usage import views

app_name = "usage"

urlpatterns = [path("", views.account_usage, name="account")]

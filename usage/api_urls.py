"""/v2 usage routes (teams:admin)."""

from django.urls import path

from usage import api

urlpatterns = [
    path("usage", api.AccountUsageView.as_view(), name="api-usage"),
]

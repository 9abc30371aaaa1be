"""/v2 API key routes (teams:admin)."""

from django.urls import path

from apikeys import api

urlpatterns = [
    path("api-keys", api.ApiKeyList.as_view(), name="api-apikey-list"),
    path("api-keys/<str:public_id>", api.ApiKeyDetail.as_view(), name="api-apikey-detail"),
    path("api-keys/<str:public_id>/revoke", api.ApiKeyRevoke.as_view(), name="api-apikey-revoke"),
    path("api-keys/<str:public_id>/usage", api.ApiKeyUsage.as_view(), name="api-apikey-usage"),
]

"""Settings → API Access (mounted at /settings/api-access/)."""

from django.urls import path

from apikeys import lifecycle_views, views

app_name = "apikeys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("policy/", lifecycle_views.key_policy, name="policy"),
    path("<str:public_id>/", views.key_detail, name="detail"),
    path("<str:public_id>/rotate/", views.key_rotate, name="rotate"),
    path("<str:public_id>/revoke/", views.key_revoke, name="revoke"),
    path("<str:public_id>/reactivate/", views.key_reactivate, name="reactivate"),
    path("<str:public_id>/keep-active/", views.key_keep_active, name="keep_active"),
    path("<str:public_id>/scopes/", views.key_edit_scopes, name="edit_scopes"),
    path("<str:public_id>/replace/", lifecycle_views.key_replace, name="replace"),
    path("<str:public_id>/details/", lifecycle_views.key_edit_details, name="edit_details"),
]

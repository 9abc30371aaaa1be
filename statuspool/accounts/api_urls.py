"""/v2 team routes (teams:admin)."""

from django.urls import path

from statuspool.accounts import api

urlpatterns = [
    path("team/members", api.MemberList.as_view(), name="api-member-list"),
    path("team/members/<int:pk>", api.MemberDetail.as_view(), name="api-member-detail"),
    path("team/invitations", api.InvitationList.as_view(), name="api-invitation-list"),
    path("team/invitations/<int:pk>", api.InvitationDetail.as_view(), name="api-invitation-detail"),
    path("billing", api.BillingView.as_view(), name="api-billing"),
]

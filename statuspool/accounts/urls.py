"""Login and the account settings screens (Security, Team); sign-up is statuspool.onboarding."""

from django.urls import path

from statuspool.accounts.views import (
    auth,
    billing,
    invitations,
    members,
    notification_settings,
    password_reset,
    security,
    team,
)

app_name = "accounts"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.login_verify, name="login_verify"),
    path("logout/", auth.logout_view, name="logout"),
    path("settings/security/", security.security, name="security"),
    path("settings/security/2fa/", security.twofactor_enroll, name="twofactor_enroll"),
    path("settings/security/2fa/disable/", security.twofactor_disable, name="twofactor_disable"),
    path("settings/security/recovery-codes/", security.recovery_codes, name="recovery_codes"),
    path("settings/security/time-zone/", security.time_zone, name="time_zone"),
    path("settings/security/password/", security.password_change, name="password_change"),
    path(
        "settings/security/notifications/",
        notification_settings.security_notifications,
        name="security_notifications",
    ),
    path("settings/team/", team.team, name="team"),
    path("settings/team/switch/", team.switch_account, name="switch_account"),
    path("settings/team/invite/", invitations.invite, name="invite"),
    path(
        "settings/team/invitations/<int:pk>/resend/",
        invitations.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "settings/team/invitations/<int:pk>/revoke/",
        invitations.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/team/members/<int:pk>/role/", members.member_role, name="member_role"),
    path("settings/team/members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("settings/team/transfer/", members.ownership_transfer, name="ownership_transfer"),
    path("settings/team/policy/", members.policy, name="policy"),
    path("settings/billing/", billing.billing, name="billing"),
    path("invitations/accept/", invitations.invitation_accept, name="invitation_accept"),
    path("invitations/signup/", invitations.invitation_signup, name="invitation_signup"),
    path("invitations/<str:token>/", invitations.invitation_open, name="invitation_open"),
    path("password-reset/", password_reset.reset_request, name="password_reset"),
    path("password-reset/sent/", password_reset.reset_sent, name="password_reset_sent"),
    path("password-reset/new/", password_reset.reset_confirm, name="password_reset_confirm"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        password_reset.reset_open,
        name="password_reset_open",
    ),
]

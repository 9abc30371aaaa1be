"""Login and the account settings screens (Security, Team); sign-up is statuspool.onboarding."""

from django.urls import path

from statuspool.accounts.views import auth, security, team

app_name = "accounts"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.login_verify, name="login_verify"),
    path("logout/", auth.logout_view, name="logout"),
    path("settings/security/", security.security, name="security"),
    path("settings/security/2fa/", security.twofactor_enroll, name="twofactor_enroll"),
    path("settings/security/2fa/disable/", security.twofactor_disable, name="twofactor_disable"),
    path("settings/security/recovery-codes/", security.recovery_codes, name="recovery_codes"),
    path("settings/security/password/", security.password_change, name="password_change"),
    path("settings/team/", team.team, name="team"),
    path("settings/team/switch/", team.switch_account, name="switch_account"),
]

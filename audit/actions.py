"""The audited actions, with the wording the Audit Log shows for them (SPEC.md "Audit trail")."""

ACTIONS = {
    "auth.signup": "Signed up",
    "account.created": "Account created",
    "auth.login": "Logged in",
    "auth.login_failed": "Login failed",
    "auth.2fa_enrolled": "Two-factor authentication enrolled",
    "auth.2fa_disabled": "Two-factor authentication disabled",
    "auth.recovery_codes_regenerated": "Recovery codes regenerated",
    "auth.sudo_failed": "Confirmation failed (password or 2FA code)",
    "auth.password_changed": "Password changed",
    "apikey.created": "API key created",
    "apikey.rotated": "API key rotated",
    "apikey.revoked": "API key revoked",
    "apikey.suspended": "API key suspended",
    "apikey.reactivated": "API key reactivated",
    "apikey.flagged_stale": "API key flagged stale",
    "apikey.kept_active": "API key kept active",
    "apikey.scopes_changed": "API key scopes changed",
    "apikey.allowlist_changed": "API key IP allowlist changed",
    "apikey.usage_alerts_changed": "API key usage alerts changed",
    "oauth.application_registered": "OAuth application registered",
    "oauth.application_updated": "OAuth application updated",
    "oauth.secret_reset": "OAuth client secret reset",
    "oauth.application_deleted": "OAuth application deleted",
    "oauth.grant_approved": "OAuth access granted",
    "oauth.grant_denied": "OAuth access denied",
    "oauth.grant_revoked": "OAuth access revoked",
    "oauth.refresh_reuse_detected": "OAuth refresh token reused (tokens revoked)",
}


def describe(action: str) -> str:
    return ACTIONS.get(action, action)

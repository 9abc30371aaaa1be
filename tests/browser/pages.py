"""The catalogue of dashboard pages the browser suite checks at every size (test_every_page.py).

Adding a screen? Add its URL name to PAGES (how to reach it: URL arguments from the Sample, who
looks at it, optional steps to reach a state), or to NOT_PAGES with the reason it is no page (POST
only, a download, JSON). ``test_every_url_is_catalogued`` walks the URL resolver and fails on a
name in neither, so no screen escapes the fit, axe, time-zone and screenshot checks.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.sample import Sample


@dataclass(frozen=True)
class Visit:
    name: str  # the screenshot's name
    kwargs: Callable[[Sample], dict] = lambda sample: {}
    query: Callable[[Sample], str] = lambda sample: ""
    user: str | None = "owner"  # a Sample attribute, or None for a visitor who is not signed in
    # After loading the URL: bring the page into the state to look at (page, sample) -> None.
    steps: Callable | None = None


def _key(attribute: str = "key") -> Callable[[Sample], dict]:
    return lambda sample: {"public_id": getattr(sample, attribute).public_id}


def _member(sample: Sample) -> dict:
    return {"pk": sample.member.memberships.get(account=sample.account).pk}


def _app(sample: Sample) -> dict:
    return {"pk": sample.application.pk}


def _login_password(page, sample):
    from statuspool.onboarding.demo import DEMO_PASSWORD

    page.fill("#id_email", sample.owner.email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#id_code")


def _create_key(page, sample):
    """The show-once page: create a key with sudo."""
    from statuspool.onboarding.demo import DEMO_PASSWORD
    from tests.browser.helpers import fill_sudo

    page.fill("#id_name", "Terraform provider (CI)")
    page.locator("input[name=scopes][value='monitors:read']").check()
    fill_sudo(page, sample.owner, password=DEMO_PASSWORD)
    page.get_by_role("button", name="Create API Key").click()
    page.wait_for_selector("[data-copy-target]")


PAGES: dict[str, list[Visit]] = {
    "onboarding:signup": [Visit("signup", user=None)],
    "accounts:login": [Visit("login", user=None)],
    "accounts:login_verify": [Visit("login-verify", user=None, steps=_login_password)],
    "accounts:security": [Visit("security")],
    "accounts:security_notifications": [Visit("security-notifications")],
    "accounts:twofactor_enroll": [Visit("twofactor-enroll", user="newcomer")],
    "accounts:twofactor_disable": [Visit("twofactor-disable")],
    "accounts:recovery_codes": [Visit("recovery-codes")],
    "accounts:password_change": [Visit("password-change")],
    "accounts:team": [Visit("team"), Visit("team-as-member", user="member")],
    "accounts:invite": [Visit("team-invite")],
    "accounts:member_role": [Visit("team-member-role", kwargs=_member)],
    "accounts:member_remove": [Visit("team-member-remove", kwargs=_member)],
    "accounts:ownership_transfer": [Visit("team-ownership-transfer")],
    "accounts:policy": [Visit("team-policy")],
    "accounts:billing": [Visit("billing")],
    "accounts:password_reset": [Visit("password-reset", user=None)],
    "accounts:password_reset_sent": [Visit("password-reset-sent", user=None)],
    "device:entry": [Visit("device-entry")],
    "monitoring:monitor_list": [Visit("monitors"), Visit("monitors-as-member", user="member")],
    "monitoring:monitor_detail": [
        Visit("monitor-detail", kwargs=lambda s: {"monitor_id": s.monitor.pk})
    ],
    "apikeys:list": [Visit("apikeys")],
    "apikeys:create": [Visit("apikey-create"), Visit("apikey-show-once", steps=_create_key)],
    "apikeys:detail": [
        Visit("apikey-detail", kwargs=_key()),
        Visit("apikey-detail-usage-7d", kwargs=_key(), query=lambda s: "window=7d"),
        Visit("apikey-detail-stale", kwargs=_key("stale_key")),
        Visit("apikey-detail-suspended", kwargs=_key("suspended_key")),
        Visit("apikey-detail-rotated", kwargs=_key("rotated_key")),
        Visit("apikey-detail-revoked", kwargs=_key("revoked_key")),
    ],
    "apikeys:rotate": [Visit("apikey-rotate", kwargs=_key())],
    "apikeys:replace": [Visit("apikey-replace", kwargs=_key())],
    "apikeys:edit_details": [Visit("apikey-edit-details", kwargs=_key())],
    "apikeys:policy": [Visit("apikey-policy")],
    "apikeys:revoke": [Visit("apikey-revoke", kwargs=_key())],
    "apikeys:reactivate": [Visit("apikey-reactivate", kwargs=_key("suspended_key"))],
    "apikeys:edit_scopes": [Visit("apikey-scopes", kwargs=_key())],
    "apikeys_restrictions:allowlist": [Visit("apikey-allowlist", kwargs=_key())],
    "oauthapps:application_list": [Visit("oauth-applications")],
    "oauthapps:application_register": [Visit("oauth-application-register")],
    "oauthapps:application_detail": [Visit("oauth-application-detail", kwargs=_app)],
    "oauthapps:application_edit": [Visit("oauth-application-edit", kwargs=_app)],
    "oauthapps:application_reset_secret": [Visit("oauth-application-reset", kwargs=_app)],
    "oauthapps:application_delete": [Visit("oauth-application-delete", kwargs=_app)],
    "oauthapps:connected_list": [Visit("connected-applications")],
    "oauthapps:connected_detail": [
        Visit("connected-application-detail", kwargs=lambda s: {"pk": s.authorization.pk})
    ],
    "usage:account": [Visit("usage"), Visit("usage-30d", query=lambda s: "window=30d")],
    "oauth2_provider:authorize": [
        Visit(
            "oauth-consent",
            query=lambda s: (
                f"client_id={s.application.client_id}&response_type=code&scope=monitors:read"
                f"&redirect_uri={s.application.redirect_uris}&state=xyz"
                "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                "&code_challenge_method=S256"
            ),
        )
    ],
    "audit:log": [Visit("audit-log")],
    "apikeys_requests:requests": [
        Visit("audit-key-requests", query=lambda s: f"key={s.key.public_id}"),
        # The request search: filtered (a class, an IPv6 network), and typed input it refuses.
        Visit(
            "audit-key-requests-filtered",
            query=lambda s: f"key={s.key.public_id}&window=7d&status=429&ip=2001:db8::/32",
        ),
        Visit(
            "audit-key-requests-invalid",
            query=lambda s: f"key={s.key.public_id}&status=abc&ip=300.1.1.1&country=Atlantis",
        ),
    ],
    "api-docs": [Visit("api-docs", user=None)],
}

NOT_PAGES: dict[str, str] = {
    "home": "redirects to the monitors list",
    "accounts:logout": "POST only",
    "accounts:time_zone": "POST only (the Security page's form and the browser's detection)",
    "accounts:switch_account": "POST only",
    "apikeys:keep_active": "POST only",
    "apikeys_restrictions:usage_alerts": "POST only (the form is on the key's page)",
    "oauthapps:connected_revoke": "POST only",
    "audit:export": "CSV download",
    "apikeys_requests:requests_export": "CSV download",
    "apikeys_requests:requests_export_jsonl": "JSON Lines download",
    "oauth2_provider:token": "OAuth endpoint (JSON)",
    "oauth2_provider:revoke-token": "OAuth endpoint (JSON)",
    "oauth2_provider:introspect": "OAuth endpoint (JSON)",
    "oauth_authorization_server_metadata": "JSON metadata",
    "oauth2_provider:device-authorization": "OAuth endpoint (JSON)",
    "oauth2_provider:application-logo": "an application's logo (PNG)",
    "accounts:invitation_resend": "POST only",
    "accounts:invitation_revoke": "POST only",
    # Reached only through a one-time link from an email (a token in the URL or the session):
    # their own browser tests click through them; not yet part of the every-page check.
    "accounts:invitation_open": "needs an emailed invitation token",
    "accounts:invitation_accept": "needs an emailed invitation token in the session",
    "accounts:invitation_signup": "needs an emailed invitation token in the session",
    "onboarding:signup_confirm": "needs an emailed sign-up confirmation token",
    "accounts:password_reset_open": "needs an emailed password-reset token",
    "accounts:password_reset_confirm": "needs an emailed password-reset token in the session",
    "device:consent": "needs a pending device authorization",
}


def dashboard_url_names() -> dict[str, str]:
    """Every named URL people might open: not the operators' admin, not /v2 JSON endpoints."""
    found: dict[str, str] = {}

    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                joined = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), joined)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found[name] = prefix + str(pattern.pattern)

    walk(get_resolver().url_patterns)
    return {
        name: route
        for name, route in found.items()
        if not name.startswith("admin:") and (not route.startswith("v2/") or name in PAGES)
    }

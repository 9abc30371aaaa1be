"""Every dashboard page a team admin opens is served with the browser-side protections.

For each page (walked by URL name): a Content-Security-Policy that forbids framing and inline
script, X-Frame-Options DENY, a Referrer-Policy that keeps URLs on this site, nosniff; every
``<form method="post">`` carries a CSRF token; and nothing on the page relies on inline script or
style, which that policy would silently block in the browser.
"""

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse

from apikeys.services import apikey_create
from audit.services import Actor
from statuspool.accounts.models import Membership, Role
from tests.conftest import login, make_user
from tests.monitoring.conftest import make_monitor
from tests.oauthapps.helpers import authorize_url, issue_tokens, register_app
from usage import requestlog

pytestmark = pytest.mark.django_db

# Values that never send a dashboard URL (key ids, OAuth parameters) to another site in full.
SAFE_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}

# (URL name, how to build its URL arguments (a list) or query string ({"query": …}) from the
# seeded objects)
ADMIN_PAGES = [
    ("monitoring:monitor_list", None),
    ("monitoring:monitor_detail", lambda w: [w["monitor"].pk]),
    ("apikeys:list", None),
    ("apikeys:create", None),
    ("apikeys:detail", lambda w: [w["key"].public_id]),
    ("apikeys:rotate", lambda w: [w["key"].public_id]),
    ("apikeys:revoke", lambda w: [w["key"].public_id]),
    ("apikeys:edit_scopes", lambda w: [w["key"].public_id]),
    ("apikeys:reactivate", lambda w: [w["key"].public_id]),
    ("apikeys:replace", lambda w: [w["key"].public_id]),
    ("apikeys:edit_details", lambda w: [w["key"].public_id]),
    ("apikeys:policy", None),
    ("apikeys_restrictions:allowlist", lambda w: [w["key"].public_id]),
    ("oauthapps:application_list", None),
    ("oauthapps:application_register", None),
    ("oauthapps:application_detail", lambda w: [w["app"].pk]),
    ("oauthapps:application_edit", lambda w: [w["app"].pk]),
    ("oauthapps:application_reset_secret", lambda w: [w["app"].pk]),
    ("oauthapps:application_delete", lambda w: [w["app"].pk]),
    ("oauthapps:connected_list", None),
    ("oauthapps:connected_detail", lambda w: [w["grant"].pk]),
    ("usage:account", None),
    ("usage:account", lambda w: {"query": "window=7d&sort=error_rate"}),
    ("audit:log", None),
    ("apikeys_requests:requests", lambda w: {"query": f"key={w['key'].public_id}"}),
    ("accounts:team", None),
    ("accounts:security", None),
    ("accounts:password_change", None),
    ("accounts:recovery_codes", None),
    ("accounts:twofactor_disable", None),
    ("accounts:security_notifications", None),
    ("accounts:invite", None),
    ("accounts:member_role", lambda w: [w["member"].pk]),
    ("accounts:member_remove", lambda w: [w["member"].pk]),
    ("accounts:ownership_transfer", None),
    ("accounts:policy", None),
    ("accounts:billing", None),
]
ANONYMOUS_PAGES = ["accounts:login", "onboarding:signup"]


class PageParts(HTMLParser):
    """The POST forms (with their input names), and any inline script or style, of one page."""

    def __init__(self):
        super().__init__()
        self.post_forms: list[dict] = []
        self._form = None
        self._script_depth = 0
        self.inline_scripts: list[str] = []
        self.inline_handlers: list[str] = []
        self.style_elements = 0
        self.style_attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._form = {"action": attributes.get("action", ""), "inputs": {}}
            if (attributes.get("method") or "get").lower() == "post":
                self.post_forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form["inputs"][attributes.get("name")] = attributes.get("value") or ""
        elif tag == "script" and not attributes.get("src"):
            # A data block (json_script) is never run, so the policy does not apply to it.
            if attributes.get("type") != "application/json":
                self._script_depth += 1
        elif tag == "style":
            self.style_elements += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.inline_handlers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "script" and self._script_depth:
            self._script_depth -= 1

    def handle_data(self, data):
        if self._script_depth and data.strip():
            self.inline_scripts.append(data.strip()[:80])


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.fixture
def world(alice, account_a, settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")
    key, raw = apikey_create(
        account=account_a,
        name="ci-pipeline",
        scopes=["monitors:read"],
        actor=Actor.system("tests"),
        created_by=alice,
    )
    app, _secret = register_app(account_a, user=alice)
    monitor = make_monitor(account_a, "Acme API")
    member = Membership.objects.create(
        user=make_user("dave@acme.test"), account=account_a, role=Role.MEMBER
    )
    token, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    # Traffic, so that the pages with usage charts carry their chart data and draw them.
    for bearer in (raw, token):
        Client().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    requestlog.flush()
    grant = alice.oauth_authorizations.get()
    return {"key": key, "app": app, "monitor": monitor, "member": member, "grant": grant}


def assert_protected(response, url):
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    csp = csp_directives(response.get("Content-Security-Policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], (url, csp)
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src and "'self'" in script_src, (url, csp)
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(script_src), (url, csp)
    assert response.get("X-Frame-Options") == "DENY", url
    assert response.get("Referrer-Policy") in SAFE_REFERRER_POLICIES, url
    assert response.get("X-Content-Type-Options") == "nosniff", url

    parts = PageParts()
    parts.feed(response.content.decode())
    for form in parts.post_forms:
        assert form["inputs"].get("csrfmiddlewaretoken"), f"{url}: POST form {form} has no token"
    # The policy above would block these in the browser: the page would look or work broken.
    assert parts.inline_scripts == [], url
    assert parts.inline_handlers == [], url
    if "'unsafe-inline'" not in csp.get("style-src", csp.get("default-src", [])):
        assert parts.style_elements == 0 and parts.style_attributes == [], (
            url,
            parts.style_attributes,
        )
    return parts


@pytest.mark.parametrize(("name", "args"), ADMIN_PAGES, ids=[name for name, _ in ADMIN_PAGES])
def test_dashboard_page_as_team_admin(client, alice, world, name, args):
    built = args(world) if args else []
    if isinstance(built, dict):
        url = f"{reverse(name)}?{built['query']}"
    else:
        url = reverse(name, args=built)
    assert_protected(login(client, alice).get(url), url)


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_page_before_login(name):
    url = reverse(name)
    parts = assert_protected(Client().get(url), url)
    assert len(parts.post_forms) == 1  # the login or sign-up form itself, with its token


def test_consent_screen(client, alice, world):
    """The page most worth framing for a clickjacking attack: "Approve" on someone's behalf."""
    url = authorize_url(world["app"])
    parts = assert_protected(login(client, alice).get(url), url)
    assert len(parts.post_forms) == 2  # Approve/Deny, and Log out


def test_two_factor_enrollment(client, account_a):
    """Where a team admin without 2FA is sent; its QR code is inline SVG, not an inline script."""
    user = make_user("new-admin@acme.test", with_2fa=False)
    Membership.objects.create(user=user, account=account_a, role=Role.ADMIN)
    url = reverse("accounts:twofactor_enroll")
    parts = assert_protected(login(client, user).get(url), url)
    assert len(parts.post_forms) == 2  # the code form, and Log out


def test_the_walk_covers_every_settings_screen():
    """A new screen under /settings/ must be added to ADMIN_PAGES (or be a POST-only action)."""
    walked = {name for name, _ in ADMIN_PAGES}
    post_only = {
        "apikeys:keep_active",
        "apikeys_restrictions:usage_alerts",
        "accounts:switch_account",
        "accounts:invitation_resend",
        "accounts:invitation_revoke",
        "accounts:time_zone",
        "oauthapps:connected_revoke",
        "accounts:time_zone",
    }
    downloads = {
        "audit:export",
        "apikeys_requests:requests_export",
        "apikeys_requests:requests_export_jsonl",
    }
    elsewhere = {"accounts:twofactor_enroll"}  # test_two_factor_enrollment
    missing = []
    for namespace, (_prefix, resolver) in get_resolver().namespace_dict.items():
        for name in resolver.reverse_dict:
            if not isinstance(name, str):
                continue
            full = f"{namespace}:{name}"
            try:
                path = reverse(full, args=_dummy_args(resolver, name))
            except NoReverseMatch:
                continue
            if (
                path.startswith("/settings/")
                and full not in walked | post_only | downloads | elsewhere
            ):
                missing.append(full)
    assert missing == []


def _dummy_args(resolver, name):
    """One placeholder per URL parameter (every parameter here accepts "1")."""
    possibilities = resolver.reverse_dict.getlist(name)
    params = possibilities[0][0][0][1] if possibilities else []
    return ["1" for _ in params]

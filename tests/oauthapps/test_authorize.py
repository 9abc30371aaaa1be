"""/oauth/authorize: validation before consent (RFC 9700), the consent screen, approve and deny."""

from urllib.parse import urlencode

import pytest

from audit.models import AuditEvent
from oauthapps.models import Authorization, Grant
from statuspool.accounts.models import Membership, Role
from tests.conftest import login
from tests.oauthapps.helpers import REDIRECT_URI, authorize_url, obtain_code, pkce_pair, query_of

pytestmark = pytest.mark.django_db


def _refused_without_redirect(response):
    assert response.status_code == 400
    assert "Location" not in response
    assert b"This authorization request cannot be completed" in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY"
    assert not Grant.objects.exists()


def _refused_with_redirect(response, error, state="xyz"):
    """After the client and redirect URI are validated, errors go back to the client (RFC 6749
    §4.1.2.1) with the state and the issuer (RFC 9207), and nothing is granted."""
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    params = query_of(response["Location"])
    assert params["error"] == error
    assert params["state"] == state
    assert params["iss"] == "http://testserver"
    assert "code" not in params
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Grant.objects.exists() and not Authorization.objects.exists()
    return params


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "?extra=1",
        REDIRECT_URI + "/",
        REDIRECT_URI + "#fragment",
        "https://attacker.example.com/callback",
        "https://hooks.internal.example.com:8443/callback",
        "http://hooks.internal.example.com/callback",
        "https://HOOKS.internal.example.com/callback",
    ],
    ids=["extra-query", "trailing-slash", "fragment", "other-host", "other-port", "http", "case"],
)
def test_redirect_uri_must_match_exactly_and_is_never_redirected_to(
    client, alice, app, redirect_uri
):
    login(client, alice)
    response = client.get(authorize_url(app, redirect_uri=redirect_uri))
    _refused_without_redirect(response)
    assert b"not exactly one the application registered" in response.content


def test_bad_redirect_uri_is_refused_before_login_too(client, app):
    response = client.get(authorize_url(app, redirect_uri="https://attacker.example.com/cb"))
    _refused_without_redirect(response)


def test_unknown_client_is_refused_with_a_page(client, alice, app):
    login(client, alice)
    params = {"client_id": "no-such-client", "redirect_uri": REDIRECT_URI, "response_type": "code"}
    response = client.get("/oauth/authorize?" + urlencode(params))
    _refused_without_redirect(response)
    assert b"not registered" in response.content


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": None},  # a challenge without a method defaults to "plain"
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "S512"},
    ],
    ids=["missing", "no-method", "plain", "unknown"],
)
def test_pkce_s256_is_required_before_consent(client, alice, app, pkce):
    login(client, alice)
    response = client.get(authorize_url(app, **pkce))
    _refused_with_redirect(response, "invalid_request")


@pytest.mark.parametrize(
    ("response_type", "error"),
    [
        ("token", "unsupported_response_type"),
        ("id_token", "unsupported_response_type"),
        ("code token", "unauthorized_client"),  # oauthlib: not a type this client may use
    ],
)
def test_implicit_and_hybrid_response_types_are_refused(client, alice, app, response_type, error):
    login(client, alice)
    response = client.get(authorize_url(app, response_type=response_type))
    _refused_with_redirect(response, error)


def test_unknown_scope_is_refused(client, alice, app):
    login(client, alice)
    response = client.get(authorize_url(app, scope="monitors:read admin:all"))
    _refused_with_redirect(response, "invalid_scope")


def test_user_without_an_account_is_refused(client, app):
    from tests.conftest import make_user

    login(client, make_user("loner@example.test"))
    response = client.get(authorize_url(app))
    assert response.status_code == 403
    assert b"does not belong to any account" in response.content
    assert "Location" not in response


def test_anonymous_user_logs_in_first_and_comes_back(client, app):
    url = authorize_url(app)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert query_of(response["Location"])["next"] == url  # the whole request comes back


def test_consent_screen_shows_everything_and_cannot_be_framed(client, alice, app):
    login(client, alice)
    response = client.get(authorize_url(app, scope="monitors:read alerts:write"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Authorize PagerDuty Sync" in body
    assert "Syncs incidents with PagerDuty." in body
    assert "Registered by <strong>Acme Monitoring</strong>" in body
    assert "hooks.internal.example.com" in body
    assert "List and view monitor status, uptime history, and incident logs." in body
    assert "Modify alert thresholds and notification preferences." in body
    assert "alerts:read" not in body  # only what was asked for
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_approve_redirects_with_a_code_and_the_state_unchanged(client, alice, app, account_a):
    login(client, alice)
    state = "a b/c?d=e&f+g%20ü"
    verifier, challenge = pkce_pair()
    url = authorize_url(app, state=state, challenge=challenge)
    response = client.post(url, {"account": account_a.pk, "decision": "approve"})
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert response["Referrer-Policy"] == "no-referrer"
    params = query_of(response["Location"])
    assert params["state"] == state
    assert params["iss"] == "http://testserver"
    grant = Grant.objects.get()
    assert grant.code != params["code"] and params["code"] not in grant.code  # stored as a digest
    assert grant.code_challenge_method == "S256"
    authorization = Authorization.objects.get()
    assert (authorization.user, authorization.account, authorization.application) == (
        alice,
        account_a,
        app,
    )
    assert authorization.scopes == ["monitors:read", "alerts:read"]
    assert grant.authorization == authorization
    event = AuditEvent.objects.get(action="oauth.grant_approved")
    assert event.account_id == account_a.pk and event.actor_email == alice.email
    assert event.details["scopes"] == ["monitors:read", "alerts:read"]


def test_deny_returns_access_denied_with_the_state(client, alice, app, account_a):
    login(client, alice)
    response = client.post(
        authorize_url(app, state="keep-me-123"), {"account": account_a.pk, "decision": "deny"}
    )
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert params["error"] == "access_denied"
    assert params["state"] == "keep-me-123"
    assert "code" not in params
    assert not Authorization.objects.exists() and not Grant.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.grant_denied", account=account_a).count() == 1


def test_tampered_post_is_validated_again(client, alice, app, account_a):
    """The decision posts back to the URL; a forged redirect in it is refused like on GET."""
    login(client, alice)
    url = authorize_url(app, redirect_uri="https://attacker.example.com/cb")
    response = client.post(url, {"account": account_a.pk, "decision": "approve"})
    _refused_without_redirect(response)
    assert not Authorization.objects.exists()


def test_member_cannot_grant_teams_admin(client, mallory, app, account_a):
    login(client, mallory)
    url = authorize_url(app, scope="monitors:read teams:admin")
    page = client.get(url)
    assert page.status_code == 200
    assert b"you can grant only alerts:read, monitors:read" in page.content
    assert b"also asks for teams:admin" in page.content
    response = client.post(url, {"account": account_a.pk, "decision": "approve"})
    assert response.status_code == 403
    assert "Location" not in response
    assert b"also asks for teams:admin" in response.content
    assert not Authorization.objects.exists() and not Grant.objects.exists()


def test_member_can_grant_read_scopes(client, mallory, app, account_a):
    login(client, mallory)
    code, _ = obtain_code(client, app, scope="monitors:read alerts:read", account=account_a)
    assert code
    assert Authorization.objects.get().user == mallory


def test_admin_scopes_need_two_factor(client, account_a, app):
    from tests.conftest import make_user

    dave = make_user("dave@acme.test", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role=Role.ADMIN)
    login(client, dave)
    url = authorize_url(app, scope="monitors:write")
    response = client.post(url, {"account": account_a.pk, "decision": "approve"})
    assert response.status_code == 403
    assert b"two-factor authentication" in response.content
    assert not Authorization.objects.exists()


def test_account_picker_chooses_the_account_of_the_grant(client, alice, app, account_b, charlie):
    Membership.objects.create(user=alice, account=account_b, role=Role.MEMBER)
    login(client, alice)
    page = client.get(authorize_url(app))
    body = page.content.decode()
    assert "Grant access to which account?" in body
    assert "Acme Monitoring" in body and "Bravo Labs" in body
    obtain_code(client, app, account=account_b)
    assert Authorization.objects.get().account == account_b


def test_account_picker_refuses_an_account_the_user_is_not_in(client, alice, app, account_b):
    login(client, alice)
    response = client.post(authorize_url(app), {"account": account_b.pk, "decision": "approve"})
    assert response.status_code == 200  # the form is shown again with the error
    assert not Authorization.objects.exists()


def test_approving_again_widens_the_same_grant(client, alice, app, account_a):
    login(client, alice)
    obtain_code(client, app, scope="monitors:read", account=account_a)
    obtain_code(client, app, scope="alerts:write", account=account_a)
    authorization = Authorization.objects.get()
    assert authorization.scopes == ["monitors:read", "alerts:write"]
    assert Grant.objects.filter(authorization=authorization).count() == 2


@pytest.mark.parametrize(
    "headers, accepted",
    [
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "same-origin"}, True),
        ({"HTTP_ORIGIN": "http://testserver"}, True),
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "cross-site"}, False),
        ({"HTTP_ORIGIN": "null"}, False),
        ({"HTTP_ORIGIN": "https://attacker.example", "HTTP_SEC_FETCH_SITE": "same-origin"}, False),
    ],
    ids=["null-same-origin", "own-origin", "null-cross-site", "null-no-metadata", "foreign"],
)
def test_consent_post_is_csrf_protected_despite_no_referrer(
    alice, app, account_a, headers, accepted
):
    """No Referer means browsers send Origin: null; only a same-origin fetch is believed."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, alice)
    url = authorize_url(app)
    client.get(url)
    token = client.cookies["csrftoken"].value
    data = {"account": account_a.pk, "decision": "approve", "csrfmiddlewaretoken": token}
    response = client.post(url, data, **headers)
    assert (response.status_code == 302) is accepted
    assert Authorization.objects.exists() is accepted
    if accepted:
        missing_token = client.post(
            url, {"account": account_a.pk, "decision": "approve"}, **headers
        )
        assert missing_token.status_code == 403

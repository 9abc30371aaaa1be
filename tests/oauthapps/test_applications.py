"""Settings → OAuth Applications: access rules, registration, secret shown once, edit, reset, delete."""

import time

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from oauthapps.hashers import ALGORITHM, CLIENT_SECRET_HASHER
from oauthapps.models import AccessToken, Application, Authorization
from tests.conftest import PASSWORD, login, totp_now
from tests.oauthapps.helpers import REDIRECT_URI, issue_tokens, register_app

pytestmark = pytest.mark.django_db

LIST = "/settings/oauth-applications/"
NEW = "/settings/oauth-applications/new/"


def _register(client, **overrides):
    data = {
        "name": "PagerDuty Sync",
        "description": "Syncs incidents with PagerDuty.",
        "redirect_uris": f"{REDIRECT_URI}\nhttp://127.0.0.1:8765/cb",
    } | overrides
    return client.post(NEW, data)


# --- access rules ------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client, app):
    for url in (LIST, NEW, f"{LIST}{app.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "path", ["", "new/", "{pk}/", "{pk}/edit/", "{pk}/reset-secret/", "{pk}/delete/"]
)
def test_members_get_404(client, mallory, app, path):
    login(client, mallory)
    assert client.get(LIST + path.format(pk=app.pk)).status_code == 404


@pytest.mark.parametrize("path", ["{pk}/", "{pk}/edit/", "{pk}/reset-secret/", "{pk}/delete/"])
def test_another_accounts_application_is_404(client, charlie, app, path):
    login(client, charlie)
    assert client.get(LIST + path.format(pk=app.pk)).status_code == 404
    if path != "{pk}/":  # the detail page is GET only
        assert client.post(LIST + path.format(pk=app.pk), {"name": "x"}).status_code == 404
    app.refresh_from_db()
    assert app.name == "PagerDuty Sync"


def test_team_admin_without_2fa_is_sent_to_enrollment(client, account_a):
    from statuspool.accounts.models import Membership
    from tests.conftest import make_user

    dave = make_user("dave@acme.test", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role="admin")
    login(client, dave)
    response = client.get(LIST)
    assert response.status_code == 302 and "/settings/security/2fa/" in response["Location"]


def test_list_shows_the_accounts_applications_only(client, bob, app, account_b):
    register_app(account_b, name="Bravo's own client")
    login(client, bob)
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"PagerDuty Sync" in response.content
    assert b"Bravo&#x27;s own client" not in response.content
    assert b"Register New Client" in response.content


def test_empty_state(client, bob):
    login(client, bob)
    assert b"No OAuth applications yet" in client.get(LIST).content


# --- registration ------------------------------------------------------------------------------
def test_register_shows_the_secret_once_and_stores_a_digest(client, bob, account_a):
    login(client, bob)
    response = _register(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    application = Application.objects.get()
    secret = response.context["client_secret"]
    assert len(secret) == 128
    assert secret.encode() in response.content
    assert application.client_id.encode() in response.content
    assert application.account == account_a and application.created_by == bob
    assert application.client_type == "confidential"
    assert application.authorization_grant_type == "authorization-code"
    assert application.redirect_uri_list == [REDIRECT_URI, "http://127.0.0.1:8765/cb"]
    assert application.client_secret.startswith(f"{ALGORITHM}$")
    assert secret not in application.client_secret
    assert CLIENT_SECRET_HASHER.verify(secret, application.client_secret)
    detail = client.get(reverse("oauthapps:application_detail", args=[application.pk]))
    assert secret.encode() not in detail.content  # never shown again
    event = AuditEvent.objects.get(action="oauth.application_registered")
    assert event.account_id == account_a.pk and event.actor_email == bob.email
    assert secret not in str(event.details)


@pytest.mark.parametrize(
    "uris, message",
    [
        ("http://hooks.example.com/cb", "must use https"),
        ("https://hooks.example.com/cb#frag", "must not contain a fragment"),
        ("/relative/callback", "must be an absolute https:// URL"),
        ("https://user:pw@hooks.example.com/cb", "must not contain a user name"),
        ("javascript:alert(1)", "must be an absolute https:// URL"),
        ("https://hooks.example.com:99999/cb", "is not a valid URL"),
        ("", "This field is required."),
    ],
)
def test_redirect_uri_rules(client, bob, uris, message):
    login(client, bob)
    response = _register(client, redirect_uris=uris)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1/cb", "http://localhost:3000/callback", "http://[::1]:8080/cb"]
)
def test_loopback_http_is_allowed_for_native_apps(client, bob, uri):
    login(client, bob)
    _register(client, redirect_uris=uri)
    assert Application.objects.get().redirect_uri_list == [uri]


def test_names_are_unique_within_the_account(client, bob, app):
    login(client, bob)
    response = _register(client, name="pagerduty sync")
    assert b"already has an application named" in response.content
    assert Application.objects.count() == 1


def test_client_secret_check_is_fast_not_pbkdf2(app, secret):
    assert app.client_secret.split("$")[0] == "sp_hmac_sha256"
    started = time.perf_counter()
    for _ in range(100):
        assert CLIENT_SECRET_HASHER.verify(secret, app.client_secret)
    assert (time.perf_counter() - started) / 100 < 0.005
    assert not CLIENT_SECRET_HASHER.verify(secret[:-1], app.client_secret)


# --- edit --------------------------------------------------------------------------------------
def test_edit_changes_name_description_and_redirect_uris(client, bob, app, secret):
    login(client, bob)
    url = reverse("oauthapps:application_edit", args=[app.pk])
    form = client.get(url).context["form"]
    # The edit form starts from the stored values (not an empty form the user must retype).
    assert form["name"].value() == "PagerDuty Sync"
    assert form["description"].value() == app.description
    assert form["redirect_uris"].value() == "\n".join(app.redirect_uri_list)
    response = client.post(
        url,
        {"name": "PagerDuty Sync v2", "description": "", "redirect_uris": "https://new.example/cb"},
    )
    assert response.status_code == 302
    old_digest = app.client_secret
    app.refresh_from_db()
    assert app.name == "PagerDuty Sync v2" and app.description == ""
    assert app.redirect_uri_list == ["https://new.example/cb"]
    assert app.client_secret == old_digest  # not hashed a second time
    assert CLIENT_SECRET_HASHER.verify(secret, app.client_secret)
    event = AuditEvent.objects.get(action="oauth.application_updated")
    assert event.details["changed"]["name"] == "PagerDuty Sync v2"
    assert event.details["changed"]["redirect_uris"] == ["https://new.example/cb"]


# --- reset secret (sudo) ------------------------------------------------------------------------
def test_reset_secret_needs_sudo(client, alice, app, secret):
    login(client, alice)
    url = reverse("oauthapps:application_reset_secret", args=[app.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"password": "wrong password", "otp_code": totp_now(alice)})
    assert response.status_code == 200
    app.refresh_from_db()
    assert CLIENT_SECRET_HASHER.verify(secret, app.client_secret)
    assert AuditEvent.objects.filter(action="auth.sudo_failed").count() == 1
    assert not AuditEvent.objects.filter(action="oauth.secret_reset").exists()


def test_reset_secret_shows_a_new_secret_once(client, alice, app, secret):
    login(client, alice)
    url = reverse("oauthapps:application_reset_secret", args=[app.pk])
    response = client.post(url, {"password": PASSWORD, "otp_code": totp_now(alice)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = response.context["client_secret"]
    app.refresh_from_db()
    assert CLIENT_SECRET_HASHER.verify(new_secret, app.client_secret)
    assert not CLIENT_SECRET_HASHER.verify(secret, app.client_secret)
    assert app.secret_reset_at is not None
    assert AuditEvent.objects.filter(action="oauth.secret_reset", account=app.account).count() == 1


# --- delete (confirmation + sudo) ---------------------------------------------------------------
def test_delete_needs_sudo_and_revokes_every_token(client, alice, bob, app, account_a):
    access, _ = issue_tokens(app, bob, account_a, ["monitors:read"])
    login(client, alice)
    url = reverse("oauthapps:application_delete", args=[app.pk])
    page = client.get(url)
    assert b"data-confirm=" in page.content and b"1 active grant" in page.content
    client.post(url, {"password": PASSWORD, "otp_code": "000000"})
    assert Application.objects.filter(pk=app.pk).exists()
    response = client.post(url, {"password": PASSWORD, "otp_code": totp_now(alice)})
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Application.objects.exists()
    assert not AccessToken.objects.exists() and not Authorization.objects.exists()
    v2 = client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert v2.status_code == 401
    event = AuditEvent.objects.get(action="oauth.application_deleted")
    assert event.details["authorizations_revoked"] == 1 and event.target_label == "PagerDuty Sync"

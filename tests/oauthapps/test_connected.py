"""Settings → Connected Applications: each person's own grants, and revoking them."""

import pytest

from audit.models import AuditEvent
from oauthapps.models import AccessToken, Authorization, RefreshToken
from tests.conftest import login
from tests.oauthapps.helpers import issue_tokens

pytestmark = pytest.mark.django_db

URL = "/settings/connected-applications/"


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_lists_only_my_active_grants(client, app, mallory, bob, account_a):
    issue_tokens(app, mallory, account_a, ["monitors:read", "alerts:read"])
    issue_tokens(app, bob, account_a, ["teams:admin"])
    login(client, mallory)
    response = client.get(URL)
    assert response.status_code == 200
    rows = list(response.context["authorizations"])
    assert [a.user for a in rows] == [mallory]
    body = response.content.decode()
    assert "PagerDuty Sync" in body and "Acme Monitoring" in body
    assert "monitors:read" in body and "alerts:read" in body and "teams:admin" not in body
    assert "Never" in body  # last used


def test_empty_state(client, mallory):
    login(client, mallory)
    assert b"No connected applications" in client.get(URL).content


def test_revoke_invalidates_every_token_at_once(client, app, mallory, account_a):
    access, refresh_raw = issue_tokens(app, mallory, account_a, ["monitors:read"])
    authorization = Authorization.objects.get()
    login(client, mallory)
    response = client.post(f"{URL}{authorization.pk}/revoke/")
    assert response.status_code == 302
    authorization.refresh_from_db()
    assert authorization.revoked_at is not None
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.get().revoked is not None
    assert client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401
    event = AuditEvent.objects.get(action="oauth.grant_revoked")
    assert event.account_id == account_a.pk and event.actor_email == mallory.email
    assert b"No connected applications" in client.get(URL).content


def test_revoke_is_post_only(client, app, mallory, account_a):
    issue_tokens(app, mallory, account_a, ["monitors:read"])
    login(client, mallory)
    pk = Authorization.objects.get().pk
    assert client.get(f"{URL}{pk}/revoke/").status_code == 405
    assert Authorization.objects.get().revoked_at is None


def test_someone_elses_grant_is_404(client, app, mallory, bob, account_a):
    issue_tokens(app, bob, account_a, ["monitors:read"])
    login(client, mallory)
    pk = Authorization.objects.get().pk
    assert client.post(f"{URL}{pk}/revoke/").status_code == 404
    assert Authorization.objects.get().revoked_at is None

"""Usage charts of an OAuth application (this account's grants of it) and of one connected
application (the person's own grant), from requests made with real access tokens (issue 13)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statuspool.accounts.models import Membership, Role
from tests.conftest import make_user
from tests.oauthapps.helpers import issue_tokens
from usage import requestlog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_request_log_spool(settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")


def call(client, token, path="/v2/monitors"):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def grant_of(authorization_owner, app, account):
    access, _ = issue_tokens(app, authorization_owner, account, ["monitors:read"])
    return access


def test_the_application_page_charts_this_accounts_grants(
    client, alice, bob, app, account_a, account_b
):
    alice_token = grant_of(alice, app, account_a)
    bob_token = grant_of(bob, app, account_a)
    outsider = make_user("olga@bravo.test")
    Membership.objects.create(user=outsider, account=account_b, role=Role.ADMIN)
    outside_token = grant_of(outsider, app, account_b)  # the same app acting in another account
    assert call(client, alice_token).status_code == 200
    assert call(client, alice_token, "/v2/monitors/999999").status_code == 404
    assert call(client, bob_token).status_code == 200
    assert call(client, outside_token).status_code == 200
    assert requestlog.flush() == 4
    client.force_login(alice)

    response = client.get(f"/settings/oauth-applications/{app.pk}/")

    usage = response.context["usage"]
    assert (usage.total, usage.ok, usage.client_errors) == (3, 2, 1)
    page = response.content.decode()
    assert "Top endpoints" in page and "GET /v2/monitors" in page
    assert 'data-usage-chart="requests"' in page


def test_an_application_nobody_used_says_what_will_appear(client, alice, app):
    client.force_login(alice)
    page = client.get(f"/settings/oauth-applications/{app.pk}/?window=30d").content.decode()
    assert "No requests in the last 30 days." in page
    assert "Requests made by this application in this account appear here" in page
    assert "data-usage-chart" not in page


def test_a_connected_application_shows_what_it_did_on_your_behalf(
    client, alice, bob, app, account_a
):
    bob_token = grant_of(bob, app, account_a)
    alice_token = grant_of(alice, app, account_a)
    for _ in range(2):
        call(client, bob_token)
    call(client, alice_token)
    requestlog.flush()
    grant = bob.oauth_authorizations.get()
    client.force_login(bob)

    listing = client.get("/settings/connected-applications/").content.decode()
    response = client.get(f"/settings/connected-applications/{grant.pk}/?window=7d")

    assert f'href="/settings/connected-applications/{grant.pk}/"' in listing
    assert response.status_code == 200
    assert response.context["usage"].total == 2  # Bob's grant only, not Alice's
    assert "PagerDuty Sync" in response.content.decode()


def test_someone_elses_grant_is_a_404(client, alice, bob, app, account_a, charlie):
    grant_of(bob, app, account_a)
    grant = bob.oauth_authorizations.get()
    for person in (alice, charlie):  # an admin of the same account, and another account's owner
        client.force_login(person)
        assert client.get(f"/settings/connected-applications/{grant.pk}/").status_code == 404


def test_another_accounts_application_is_a_404(client, charlie, app):
    client.force_login(charlie)
    assert client.get(f"/settings/oauth-applications/{app.pk}/?window=7d").status_code == 404


def test_the_application_page_costs_the_same_queries_whatever_the_traffic(
    client, alice, bob, app, account_a
):
    quiet_token = grant_of(alice, app, account_a)
    client.force_login(alice)
    url = f"/settings/oauth-applications/{app.pk}/?window=7d"
    client.get(url)
    with CaptureQueriesContext(connection) as quiet:
        client.get(url)
    call(client, quiet_token)
    call(client, grant_of(bob, app, account_a), "/v2/incidents")
    requestlog.flush()
    with CaptureQueriesContext(connection) as busy:
        response = client.get(url)
    assert response.context["usage"].total == 2
    # Session, user, membership, 2FA device, the application, its logo, this account's grants,
    # and the rollups' five: twelve, however much traffic.
    assert len(busy) == len(quiet) == 12

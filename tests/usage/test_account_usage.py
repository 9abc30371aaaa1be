"""Settings → Usage: the account's credentials ranked over a window, and the busiest minutes drawn
against the plan's limits (issue 13, item 3). Traffic goes through /v2 and the flush."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.oauthapps.helpers import issue_tokens, register_app
from usage import requestlog
from usage.models import RequestLog

from .conftest import bearer

pytestmark = pytest.mark.django_db
URL = "/settings/usage/"


def names_in_order(response) -> list[str]:
    return [entry["page"][0] for entry in response.context["rows"]]


def test_credentials_are_ranked_by_requests_then_by_errors_and_429s(
    client, settings, alice, account_a, make_key
):
    settings.API_RATE_LIMITS = {
        "team": {"read": 2, "write": 1},
        "enterprise": {"read": 2, "write": 1},
    }
    busy, busy_raw = make_key(name="busy")
    failing, failing_raw = make_key(name="failing")
    statuses = [client.get("/v2/monitors", **bearer(busy_raw)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/v2/monitors/999999", **bearer(failing_raw)).status_code == 404
    requestlog.flush()
    client.force_login(alice)

    by_requests = client.get(URL)
    by_error_rate = client.get(f"{URL}?sort=error_rate")
    by_429s = client.get(f"{URL}?sort=rate_limited&window=7d")

    assert names_in_order(by_requests) == ["busy", "failing"]
    assert names_in_order(by_error_rate) == ["failing", "busy"]
    assert names_in_order(by_429s) == ["busy", "failing"]
    top = by_requests.context["rows"][0]["row"]
    assert (top.total, top.rate_limited) == (3, 1)
    assert by_requests.context["figures"].total == RequestLog.objects.count() == 4
    page = by_requests.content.decode()
    assert f'href="/settings/api-access/{busy.public_id}/">busy</a>' in page
    # The peak chart carries the plan's limits (the settings the throttle enforces).
    data = json.loads(
        re.search(r'id="usage-chart-data" type="application/json">(.*?)</script>', page).group(1)
    )
    assert (data["read_limit"], data["write_limit"]) == (2, 1)
    assert max(data["read"]) == 3 and max(data["write"]) == 0
    # The window links keep the sort.
    assert 'href="?window=30d&amp;sort=rate_limited"' in by_429s.content.decode()


def test_oauth_grants_are_ranked_beside_keys_with_their_application(
    client, alice, account_a, make_key
):
    app, _ = register_app(account_a, name="PagerDuty Sync")
    token, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    key, raw = make_key(name="quiet key")
    for _ in range(2):
        client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/v2/monitors", **bearer(raw))
    requestlog.flush()
    client.force_login(alice)

    response = client.get(URL)

    assert names_in_order(response) == ["PagerDuty Sync (alice@acme.test)", "quiet key"]
    assert f'href="/settings/oauth-applications/{app.pk}/"' in response.content.decode()


def test_no_traffic_says_what_will_appear(client, alice):
    client.force_login(alice)
    page = client.get(f"{URL}?window=90d").content.decode()
    assert "No requests in the last 90 days." in page
    assert "data-usage-chart" not in page


def test_only_team_admins_see_it_and_the_navigation_says_so(client, alice, mallory, charlie):
    client.force_login(mallory)
    assert client.get(URL).status_code == 404
    assert f'href="{URL}"' not in client.get("/settings/connected-applications/").content.decode()
    client.force_login(alice)
    assert f'href="{URL}"' in client.get("/settings/connected-applications/").content.decode()


def test_another_accounts_traffic_never_shows(client, charlie, account_a, make_key):
    _, raw = make_key(name="acme-secret-key")
    client.get("/v2/monitors", **bearer(raw))
    requestlog.flush()
    client.force_login(charlie)
    response = client.get(URL)
    assert response.context["figures"].total == 0
    assert "acme-secret-key" not in response.content.decode()


def test_the_page_costs_the_same_queries_however_many_credentials(
    client, alice, account_a, make_key
):
    _, first = make_key(name="first")
    client.get("/v2/monitors", **bearer(first))
    requestlog.flush()
    client.force_login(alice)
    client.get(URL)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for name in ("second", "third"):
        _, raw = make_key(name=name)
        client.get("/v2/monitors", **bearer(raw))
    app, _ = register_app(account_a, name="PagerDuty Sync")
    token, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    client.get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {token}")
    requestlog.flush()
    with CaptureQueriesContext(connection) as four:
        response = client.get(URL)
    assert len(response.context["rows"]) == 4
    # Session, user, membership, 2FA device, the ranking and peaks (one query), the keys' names;
    # the grants' names are one more query once there is a grant. None per row.
    assert (len(one), len(four)) == (6, 7)

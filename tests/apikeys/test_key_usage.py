"""The usage charts of a key's page and the 7-day sparklines of API Access (issue 13, item 2).

Traffic is made through /v2 and flushed, as in production; the page's figures must agree with the
request log's rows."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from usage import requestlog
from usage.models import RequestLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_request_log_spool(settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")


def call(client, raw, path="/v2/monitors", method="get"):
    return getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def detail(client, key, query=""):
    return client.get(f"/settings/api-access/{key.public_id}/{query}")


def chart_data(response) -> dict:
    match = re.search(
        r'<script id="usage-chart-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries no chart data"
    return json.loads(match.group(1))


def test_the_key_page_charts_what_the_request_log_holds(client, alice, make_key):
    key, raw = make_key(scopes=["monitors:read"])
    other, other_raw = make_key(name="other", scopes=["monitors:read"])
    for _ in range(3):
        assert call(client, raw).status_code == 200
    assert call(client, raw, "/v2/monitors/999999").status_code == 404
    assert call(client, raw, "/v2/audit-log").status_code == 403  # scope missing: a 4xx
    assert call(client, other_raw).status_code == 200  # another key's request is not counted
    assert requestlog.flush() == 6
    client.force_login(alice)

    response = detail(client, key)

    assert response.status_code == 200
    rows = RequestLog.objects.for_api_key(key)
    data = chart_data(response)
    by_class = {series["key"]: sum(series["data"]) for series in data["statuses"]}
    assert by_class == {
        "ok": rows.filter(status__lt=400).count(),
        "client_errors": rows.filter(status__gte=400, status__lt=500).exclude(status=429).count(),
        "rate_limited": 0,
        "server_errors": 0,
    }
    assert by_class["ok"] == 3 and by_class["client_errors"] == 2
    assert len(data["labels"]) == 24 and data["per"] == "hour"
    endpoints = dict(zip(data["endpoints"]["labels"], data["endpoints"]["succeeded"], strict=True))
    assert endpoints["GET /v2/monitors"] == 3
    page = response.content.decode()
    assert 'data-usage-chart="requests"' in page
    assert "<caption>Requests per hour by status class, last 24 hours</caption>" in page
    assert response.context["usage"].total == rows.count() == 5


def test_the_window_switch_is_a_plain_link_and_reaches_back_a_week(client, alice, make_key):
    key, raw = make_key()
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        assert call(client, raw).status_code == 200
    assert call(client, raw).status_code == 200
    requestlog.flush()
    client.force_login(alice)

    day = detail(client, key)
    week = detail(client, key, "?window=7d")

    assert day.context["usage"].total == 1
    assert week.context["usage"].total == 2 == RequestLog.objects.for_api_key(key).count()
    assert len(chart_data(week)["labels"]) == 7 and chart_data(week)["per"] == "day"
    assert 'href="?window=7d#usage-title" aria-current="page"' in week.content.decode()
    # An unknown window is the default one, not an error: these links get shared.
    assert detail(client, key, "?window=1y").context["usage"].window.name == "24h"


def test_a_fresh_key_says_what_will_appear_instead_of_an_empty_chart(client, alice, make_key):
    key, _ = make_key()
    client.force_login(alice)

    page = detail(client, key, "?window=7d").content.decode()

    assert "No requests in the last 7 days." in page
    assert "Requests made with this key appear here within a minute" in page
    assert "data-usage-chart" not in page and "usage-chart-data" not in page


def test_another_accounts_key_is_a_404_whatever_the_window(client, charlie, make_key):
    key, raw = make_key()
    call(client, raw)
    requestlog.flush()
    client.force_login(charlie)

    assert detail(client, key).status_code == 404
    assert detail(client, key, "?window=90d").status_code == 404


def test_a_member_cannot_see_a_keys_usage(client, mallory, make_key):
    key, _ = make_key()
    client.force_login(mallory)
    assert detail(client, key).status_code == 404


def test_the_key_page_costs_the_same_queries_whatever_the_traffic(client, alice, make_key):
    key, raw = make_key()
    client.force_login(alice)
    detail(client, key)  # session and account warm-up
    with CaptureQueriesContext(connection) as quiet:
        assert detail(client, key, "?window=30d").status_code == 200
    for path in ("/v2/monitors", "/v2/incidents", "/v2/monitors/1", "/v2/alert-rules"):
        call(client, raw, path)
    requestlog.flush()
    with CaptureQueriesContext(connection) as busy:
        assert detail(client, key, "?window=30d").status_code == 200
    assert len(busy) == len(quiet)


def test_the_list_draws_each_keys_week_with_one_query_for_all_rows(client, alice, make_key):
    busy, raw = make_key(name="busy")
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        call(client, raw)
        call(client, raw)
    call(client, raw)
    requestlog.flush()
    client.force_login(alice)
    client.get("/settings/api-access/")

    with CaptureQueriesContext(connection) as one_key:
        page = client.get("/settings/api-access/").content.decode()
    make_key(name="quiet")
    make_key(name="quieter")
    with CaptureQueriesContext(connection) as three_keys:
        client.get("/settings/api-access/")

    assert 'aria-label="Requests per day, last 7 days: 0, 0, 0, 0, 2, 0, 1"' in page
    assert len(three_keys) == len(one_key)

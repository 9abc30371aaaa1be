"""Usage charts in Chromium (issue 13, items 2 and 3): a week of traffic made through /v2 with a key
(a clock moved back for the older days, the request log flushed as beat would), the key's page
drawn with Chart.js under the Content-Security-Policy, its table agreeing with the request log,
the window switch, a fresh key's empty state, Settings → Usage ranking two keys, and an OAuth
application's page."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.services import apikey_create
from audit.services import Actor
from tests.oauthapps.helpers import issue_tokens, register_app
from usage import requestlog
from usage.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def own_request_log_spool(settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")


@pytest.fixture
def console_problems(page):
    """Errors the page reports: CSP violations, failed scripts, exceptions."""
    problems = []

    def on_console(message):
        # Chromium asks every site for /favicon.ico; this one has none (a 404 in the console).
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A CSP violation is also an event in the page: record every one, whatever the console says.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"
    )
    return problems


def make_key(account, user, name):
    return apikey_create(
        account=account,
        name=name,
        scopes=["monitors:read"],
        actor=Actor.system(label="tests"),
        created_by=user,
    )


def get(live_server, raw, path="/v2/monitors"):
    return requests.get(
        f"{live_server.url}{path}", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    ).status_code


def table_numbers(table) -> list[list[str]]:
    """The body rows of a numbers table: the row header's text, then each cell's."""
    return table.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.children].map(cell => cell.textContent.trim()))"
    )


def test_a_week_of_traffic_on_the_key_page(
    live_server, logged_in_page, screenshot, console_problems, settings, alice, account_a
):
    settings.API_RATE_LIMITS = {
        "team": {"read": 4, "write": 2},
        "enterprise": {"read": 4, "write": 2},
    }
    key, raw = make_key(account_a, alice, "deploy-bot")
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=5)):
        assert [get(live_server, raw) for _ in range(2)] == [200, 200]
    with time_machine.travel(now - timedelta(days=2)):
        assert get(live_server, raw, "/v2/incidents") == 200
    assert [get(live_server, raw) for _ in range(5)] == [200, 200, 200, 200, 429]
    assert get(live_server, raw, "/v2/monitors/999999") == 429  # the minute's reads are spent
    requestlog.flush()
    rows = RequestLog.objects.for_api_key(key)
    assert rows.count() == 9
    page = logged_in_page(alice)

    # The last 24 hours (the default window): a drawn chart and, under it, the same numbers.
    page.goto(f"/settings/api-access/{key.public_id}/")
    chart = page.locator('[data-usage-chart="requests"] canvas')
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 150
    expect(page.locator('[data-usage-chart="latency"] canvas')).to_be_visible()
    expect(page.locator('[data-usage-chart="endpoints"] canvas')).to_be_visible()
    expect(page.locator('[data-usage-chart="clients"] canvas')).to_be_visible()
    day = rows.filter(occurred_at__gte=now - timedelta(hours=24))
    requests_table = page.get_by_role(
        "table", name="Requests per hour by status class", include_hidden=True
    )
    expect(requests_table).to_be_hidden()  # in a <details>, but in the DOM
    page.get_by_text("Show as table").first.click()
    expect(requests_table).to_be_visible()
    numbers = table_numbers(requests_table)
    assert len(numbers) == 24
    columns = list(zip(*[row[1:] for row in numbers], strict=True))
    ok, client_errors, rate_limited, server_errors, total = (sum(map(int, c)) for c in columns)
    assert total == day.count() == 6
    assert ok == day.filter(status__lt=400).count() == 4
    assert rate_limited == day.filter(status=429).count() == 2
    assert (client_errors, server_errors) == (0, 0)
    # Each hour's row agrees with the request log's rows of that hour.
    starts = requests_table.locator("tbody th time").evaluate_all(
        "times => times.map(time => time.getAttribute('datetime'))"
    )
    for start, row in zip(starts, numbers, strict=True):
        begin = datetime.fromisoformat(start)
        in_hour = rows.filter(occurred_at__gte=begin, occurred_at__lt=begin + timedelta(hours=1))
        assert int(row[-1]) == in_hour.count(), (start, row)
    endpoints = page.get_by_role("table", name="Top endpoints")
    assert sorted(table_numbers(endpoints)) == sorted(
        [
            f"GET {path}",
            str(day.filter(path=path).count()),
            str(day.filter(path=path, status__gte=400).count()),
        ]
        for path in set(day.values_list("path", flat=True))
    )
    assert table_numbers(endpoints)[0] == ["GET /v2/monitors", "5", "1"]
    clients = page.get_by_role("table", name="Top client addresses")
    assert table_numbers(clients)[0][0] == "127.0.0.1"
    screenshot("usage-key-24h")

    # The window switch is a link: the week shows the older days, one row per UTC day.
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url("**?window=7d*")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")
    expect(page.locator('[data-usage-chart="requests"] canvas')).to_be_visible()
    week = table_numbers(
        page.get_by_role("table", name="Requests per day by status class", include_hidden=True)
    )
    assert len(week) == 7
    assert [int(row[-1]) for row in week] == [
        rows.filter(occurred_at__date=(now - timedelta(days=6 - n)).astimezone(UTC).date()).count()
        for n in range(7)
    ]
    assert sum(int(row[-1]) for row in week) == 9
    page.get_by_text("Show as table").first.click()
    screenshot("usage-key-7d")
    page.set_viewport_size(PHONE)
    page.reload()
    screenshot("usage-key-7d-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The same week's rows, filtered to one status and exported (issue 13, "Done when").
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/settings/api-access/{key.public_id}/")
    page.get_by_role("link", name="Requests made with this key").click()
    page.select_option("#id_window", "7d")
    page.fill("#id_status", "429")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**status=429**")
    listed = page.locator("table.request-log tbody tr")
    assert listed.count() == rows.filter(status=429).count() == 2
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    assert sorted(row["path"] for row in exported) == ["/v2/monitors", "/v2/monitors/999999"]
    assert {row["status"] for row in exported} == {"429"}

    # The list: a sparkline per key that says its numbers.
    page.goto("/settings/api-access/")
    spark = page.get_by_role("img", name="Requests per day, last 7 days: 0, 2, 0, 0, 1, 0, 6")
    expect(spark).to_be_visible()
    screenshot("usage-apikeys-list-sparklines")
    assert console_problems == []


def test_without_javascript_the_numbers_are_still_there(
    live_server, browser, alice, account_a, settings
):
    from django.test import Client

    key, raw = make_key(account_a, alice, "no-js")
    assert get(live_server, raw) == 200
    requestlog.flush()
    client = Client()
    client.force_login(alice)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"/settings/api-access/{key.public_id}/?window=30d")
    expect(page.locator("[data-usage-chart]").first).to_be_hidden()  # no empty canvas
    table = page.get_by_role("table", name="Top endpoints")
    assert table_numbers(table) == [["GET /v2/monitors", "1", "0"]]
    page.get_by_role("link", name="Last 90 days").click()
    assert page.url.endswith("?window=90d#usage-title")
    context.close()


def test_a_fresh_key_says_what_will_appear(
    live_server, logged_in_page, screenshot, alice, account_a
):
    key, _ = make_key(account_a, alice, "brand-new")
    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/?window=7d")
    expect(page.get_by_text("No requests in the last 7 days.")).to_be_visible()
    expect(
        page.get_by_text("Requests made with this key appear here within a minute", exact=False)
    ).to_be_visible()
    assert page.locator("canvas").count() == 0
    screenshot("usage-key-empty")


def test_the_usage_page_ranks_two_keys(
    live_server, logged_in_page, screenshot, console_problems, alice, account_a
):
    quiet, quiet_raw = make_key(account_a, alice, "nightly-report")
    busy, busy_raw = make_key(account_a, alice, "terraform-ci")
    assert get(live_server, quiet_raw) == 200
    assert [get(live_server, busy_raw) for _ in range(3)] == [200, 200, 200]
    assert get(live_server, busy_raw, "/v2/monitors/999999") == 404
    requestlog.flush()
    page = logged_in_page(alice)

    page.goto("/settings/api-access/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Usage").click()
    assert page.locator("h1").inner_text() == "Usage"
    ranking = page.locator("table.stack")
    names = ranking.locator("tbody td.cell-title a").all_inner_texts()
    assert names == ["terraform-ci", "nightly-report"]
    assert table_numbers(ranking)[0][1:4] == ["4", "25.0%", "0"]
    expect(page.locator('[data-usage-chart="peaks"] canvas')).to_be_visible()
    screenshot("usage-account")

    page.get_by_role("link", name="Error rate").click()
    page.wait_for_url("**sort=error_rate*")
    assert page.locator("table.stack tbody td.cell-title a").first.inner_text() == "terraform-ci"
    page.get_by_role("link", name="Last 30 days").click()
    page.wait_for_url("**window=30d&sort=error_rate*")
    page.get_by_role("link", name="nightly-report").click()
    assert page.locator("h1").inner_text() == "nightly-report"
    page.set_viewport_size(PHONE)
    page.goto("/settings/usage/")
    screenshot("usage-account-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert console_problems == []


def test_the_oauth_application_page_shows_its_usage(
    live_server, logged_in_page, screenshot, console_problems, alice, account_a
):
    app, _ = register_app(account_a, name="PagerDuty Sync", user=alice)
    token, _ = issue_tokens(app, alice, account_a, ["monitors:read"])
    for path in ("/v2/monitors", "/v2/monitors", "/v2/incidents"):
        assert get(live_server, token, path) == 200
    requestlog.flush()
    page = logged_in_page(alice)

    page.goto(f"/settings/oauth-applications/{app.pk}/")
    expect(page.locator('[data-usage-chart="requests"] canvas')).to_be_visible()
    assert table_numbers(page.get_by_role("table", name="Top endpoints")) == [
        ["GET /v2/monitors", "2", "0"],
        ["GET /v2/incidents", "1", "0"],
    ]
    screenshot("usage-oauth-application")

    page.goto("/settings/connected-applications/")
    page.get_by_role("link", name="PagerDuty Sync").click()
    assert page.locator("h1").inner_text() == "PagerDuty Sync"
    expect(page.locator('[data-usage-chart="requests"] canvas')).to_be_visible()
    stats = page.locator(".usage-stats").inner_text()
    assert "Requests\n3" in stats
    screenshot("usage-connected-application")
    assert console_problems == []

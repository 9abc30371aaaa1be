"""Request search in Chromium (issue 13 item 4): requests made through /v2 with a real key, flushed,
then filtered on the key's "Requests made with this key" page and exported as CSV."""

import csv
import io
import json

import pytest
import requests

from apikeys.services import apikey_create
from audit.services import Actor
from usage import requestlog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_request_log_spool(settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")


def test_filter_a_keys_requests_to_one_status_and_export_them(
    live_server, logged_in_page, screenshot, alice, account_a
):
    key, raw = apikey_create(
        account=account_a,
        name="billing-sync",
        scopes=["monitors:read"],
        actor=Actor.system(label="tests"),
        created_by=alice,
    )
    headers = {"Authorization": f"Bearer {raw}", "User-Agent": "billing-sync/2.3"}
    made = {"/v2/monitors": 3, "/v2/audit-log": 2, "/v2/incidents": 1}  # the audit log: 403
    statuses = []
    for path, times in made.items():
        for _ in range(times):
            response = requests.get(f"{live_server.url}{path}", headers=headers, timeout=10)
            statuses.append(response.status_code)
    assert sorted(statuses) == [200, 200, 200, 200, 403, 403]
    assert requestlog.flush() == 6
    page = logged_in_page(alice)

    page.goto(f"/settings/api-access/{key.public_id}/")
    page.get_by_role("link", name="Requests made with this key").click()
    rows = page.locator("table.request-log tbody tr")
    assert rows.count() == 6

    # One status: only the refused requests remain, and the URL can be shared.
    page.select_option("#id_window", "24h")
    page.fill("#id_status", "403")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**status=403**")
    assert rows.count() == 2
    for n in range(2):
        assert "GET /v2/audit-log" in rows.nth(n).inner_text()
        assert rows.nth(n).locator("td[data-label=Status]").inner_text().strip() == "403"
    assert page.locator("#id_status").input_value() == "403"
    assert "last 24 hours" in page.locator(".window-description").inner_text()
    screenshot("request-search-one-status")

    # The export carries the same filters.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"requests-{key.public_id}-")
    exported = list(csv.DictReader(io.StringIO(open(download.path()).read())))
    assert [(row["status"], row["path"], row["user_agent"]) for row in exported] == [
        ("403", "/v2/audit-log", "billing-sync/2.3")
    ] * 2
    assert all(row["occurred_at"].endswith("+00:00") for row in exported)
    assert raw not in open(download.path()).read()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export JSON Lines").click()
    lines = open(download_info.value.path()).read().splitlines()
    assert [json.loads(line)["status"] for line in lines] == [403, 403]

    # A client network and a class: the successful requests from this machine.
    page.fill("#id_status", "2xx")
    page.fill("#id_ip", "127.0.0.0/8")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**status=2xx**")
    assert rows.count() == 4

    # What it cannot read is said next to the field, and what was typed stays.
    page.fill("#id_ip", "300.1.1.1")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**ip=300.1.1.1**")
    assert page.locator("#id_ip_error").inner_text().startswith("Enter an address")
    assert page.locator("#id_ip").input_value() == "300.1.1.1"
    assert page.locator("#id_ip").get_attribute("aria-invalid") == "true"
    assert rows.count() == 0
    screenshot("request-search-invalid-address")

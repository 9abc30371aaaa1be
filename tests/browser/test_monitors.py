"""The Monitors pages in Chromium, as a plain member: the list with uptime strips, one monitor's
configuration, day-by-day uptime, incidents and alert rules; another account's monitor is a 404."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from statuspool.monitoring.models import AlertRule, Incident, NotificationChannel, UptimeDay
from statuspool.monitoring.uptime import window_percent
from tests.monitoring.conftest import add_days, make_monitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme_monitors(account_a):
    api = make_monitor(account_a, "Acme API")
    add_days(api, count=30)
    # Two bad days: a degraded one (99.5 %) and an outage (90 %).
    UptimeDay.objects.filter(monitor=api, day=timezone.now().date() - timedelta(days=3)).update(
        failures=7
    )
    UptimeDay.objects.filter(monitor=api, day=timezone.now().date() - timedelta(days=9)).update(
        failures=144
    )
    web = make_monitor(account_a, "Acme Website", method="HEAD", interval_seconds=300)
    add_days(web, count=10, checks=288)
    Incident.objects.create(
        account=account_a,
        monitor=web,
        started_at=timezone.now() - timedelta(minutes=20),
        cause="HTTP 502 Bad Gateway",
    )
    Incident.objects.create(
        account=account_a,
        monitor=web,
        started_at=timezone.now() - timedelta(days=2, hours=1),
        resolved_at=timezone.now() - timedelta(days=2),
        status=Incident.Status.RESOLVED,
        cause="Timeout after 30 s",
    )
    make_monitor(account_a, "Acme Legacy", paused=True)
    channel = NotificationChannel.objects.create(
        account=account_a, name="On-call email", kind="email", address="oncall@acme.test"
    )
    rule = AlertRule.objects.create(account=account_a, name="Anything down", threshold=3)
    rule.channels.set([channel])
    return {"api": api, "web": web}


def test_member_browses_monitors(logged_in_page, screenshot, mallory, acme_monitors, account_b):
    api, web = acme_monitors["api"], acme_monitors["web"]
    hidden = make_monitor(account_b, "Bravo Secret Project")
    page = logged_in_page(mallory)

    page.goto("/")
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_text("Bravo Secret Project")).to_have_count(0)
    api_row = rows.filter(has_text="Acme API")
    expect(api_row.locator(".badge-up")).to_have_text("Up")
    expect(api_row).to_contain_text(f"{window_percent(api.uptime_days.all()):.2f}%")
    expect(api_row.locator("svg.uptime-strip rect")).to_have_count(90)
    expect(rows.filter(has_text="Acme Website").locator(".badge-down")).to_have_text("Down")
    expect(rows.filter(has_text="Acme Legacy").locator(".badge-paused")).to_have_text("Paused")
    expect(rows.filter(has_text="Acme Legacy")).to_contain_text("—")  # no checks yet
    screenshot("monitors-01-list-member")

    page.get_by_role("link", name="Acme Website").click()
    expect(page.get_by_role("heading", name="Acme Website")).to_contain_text("Down")
    config = page.locator("section", has=page.get_by_role("heading", name="Check configuration"))
    expect(config).to_contain_text("HEAD")
    expect(config).to_contain_text("every 300 seconds")
    expect(page.get_by_role("heading", name="Uptime, last 90 days: 100.000%")).to_be_visible()
    page.get_by_text("Day by day (10 days with checks)").click()
    expect(page.locator("details table tbody tr")).to_have_count(10)
    incidents = page.locator("section", has=page.get_by_role("heading", name="Incidents"))
    expect(incidents.locator("tbody tr")).to_have_count(2)
    expect(incidents.locator("tbody tr").first).to_contain_text("HTTP 502 Bad Gateway")
    expect(incidents.locator("tbody tr").first.locator(".badge-down")).to_have_text("Open")
    expect(incidents.locator("tbody tr").nth(1)).to_contain_text("Resolved")
    rules = page.locator("section", has=page.get_by_role("heading", name="Alert rules that apply"))
    expect(rules).to_contain_text("Anything down")
    expect(rules).to_contain_text("Down after 3 consecutive failed checks")
    expect(rules).to_contain_text("On-call email")
    screenshot("monitors-02-detail-member")
    assert web.incidents.filter(status=Incident.Status.OPEN).count() == 1

    page.get_by_role("link", name="← All monitors").click()
    page.get_by_role("link", name="Acme API").click()
    percent = window_percent(api.uptime_days.all())
    expect(
        page.get_by_role("heading", name=f"Uptime, last 90 days: {percent:.3f}%")
    ).to_be_visible()
    page.get_by_text("Day by day (30 days with checks)").click()
    expect(page.locator("details .badge-down")).to_have_count(1)  # the 90 % day
    expect(page.locator("details .badge-warn")).to_have_count(1)  # the 99.5 % day
    screenshot("monitors-03-detail-with-bad-days")

    assert page.goto(f"/monitors/{hidden.pk}/").status == 404

from datetime import timedelta

import pytest
from django.utils import timezone

from statuspool.monitoring.models import (
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
    uptime_window,
)


def add_days(monitor, *, count=90, checks=1440, failures=0, avg_ms=150):
    """Uptime rows for the last ``count`` days of the window (the newest is today)."""
    _start, today = uptime_window()
    UptimeDay.objects.bulk_create(
        UptimeDay(
            monitor=monitor,
            day=today - timedelta(days=n),
            checks=checks,
            failures=failures,
            avg_response_ms=avg_ms,
        )
        for n in range(count)
    )


def make_monitor(account, name, **extra):
    extra.setdefault("url", f"https://{name.lower().replace(' ', '-')}.example/health")
    return Monitor.objects.create(account=account, name=name, **extra)


@pytest.fixture
def monitors_a(account_a):
    api = make_monitor(account_a, "Acme API")
    add_days(api)
    web = make_monitor(account_a, "Acme Website", method="HEAD", interval_seconds=300)
    add_days(web, checks=288, failures=0)
    paused = make_monitor(account_a, "Acme Legacy", paused=True)
    Incident.objects.create(
        account=account_a,
        monitor=web,
        started_at=timezone.now() - timedelta(minutes=20),
        cause="HTTP 502 Bad Gateway",
    )
    return {"api": api, "web": web, "paused": paused}


@pytest.fixture
def monitor_b(account_b):
    secret_monitor = make_monitor(account_b, "Bravo Secret Project")
    add_days(secret_monitor, count=3)
    channel = NotificationChannel(account=account_b, name="Bravo pager", kind="pagerduty")
    channel.secret = "bravo-routing-key"
    channel.save()
    rule = AlertRule.objects.create(account=account_b, name="Bravo everything")
    rule.channels.set([channel])
    return secret_monitor

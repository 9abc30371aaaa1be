"""`manage.py seed_demo` and `manage.py demo_login_help`."""

import re
from datetime import timedelta
from io import StringIO

import pyotp
import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys.models import ApiKey
from audit.models import AuditEvent
from statuspool.accounts.models import Membership, Role, TOTPDevice, User
from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
    uptime_window,
)
from statuspool.onboarding import demo

pytestmark = pytest.mark.django_db
KEY = re.compile(r"sp_live_[0-9A-Za-z]{40}")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_seed_demo_creates_a_believable_account():
    output = run("seed_demo")
    account = demo.demo_account()
    assert account.name == "Northwind Traders" and account.plan == "enterprise"

    owner = User.objects.get(email=demo.DEMO_OWNER_EMAIL)
    assert owner.check_password(demo.DEMO_PASSWORD)
    assert owner.has_2fa
    roles = dict(Membership.objects.filter(account=account).values_list("user__email", "role"))
    assert sorted(roles.values()) == [Role.ADMIN, Role.MEMBER, Role.OWNER]
    assert roles[demo.DEMO_OWNER_EMAIL] == Role.OWNER

    monitors = list(Monitor.objects.for_account(account))
    assert 5 <= len(monitors) <= 6
    assert all(m.url.startswith("https://") and ".northwind.example" in m.url for m in monitors)
    assert any(m.paused for m in monitors)

    start, today = uptime_window()
    for monitor in monitors:
        days = list(monitor.uptime_days.order_by("day"))
        assert days[0].day == start
        assert all(0 <= d.failures <= d.checks for d in days)
        if not monitor.paused:
            assert [d.day for d in days] == [start + timedelta(n) for n in range(90)]
        else:
            assert len(days) < 90  # no checks while paused
    assert UptimeDay.objects.filter(monitor__account=account, failures=0).count() > 400

    # Every incident shows up in the history of its day as a bad day, and vice versa.
    incidents = list(Incident.objects.for_account(account))
    assert len(incidents) >= 5
    for incident in incidents:
        day = incident.monitor.uptime_days.get(day=incident.started_at.date())
        assert day.uptime_percent < 99.9
    bad_days = UptimeDay.objects.filter(monitor__account=account).exclude(failures__lte=1)
    incident_days = {(i.monitor_id, i.started_at.date()) for i in incidents}
    assert {(d.monitor_id, d.day) for d in bad_days} <= incident_days
    open_incidents = [i for i in incidents if i.status == Incident.Status.OPEN]
    assert len(open_incidents) == 1 and open_incidents[0].monitor.current_status == "down"

    channels = list(NotificationChannel.objects.for_account(account))
    assert {c.kind for c in channels} == {"email", "slack", "webhook", "pagerduty"}
    for channel in channels:
        if channel.kind == "email":
            assert channel.address and channel.secret is None
        else:
            assert channel.secret and channel.secret not in output
    slack = next(c for c in channels if c.kind == "slack")
    assert slack.secret.startswith("https://hooks.slack.com/services/T")

    rules = list(AlertRule.objects.for_account(account).prefetch_related("channels"))
    assert len(rules) >= 3 and all(rule.channels.all() for rule in rules)
    assert {r.monitor_id is None for r in rules} == {True, False}
    dispatches = AlertDispatch.objects.for_account(account)
    assert dispatches.count() >= len(incidents)
    assert dispatches.filter(status=AlertDispatch.Status.FAILED).exists()

    # The default key is printed once and is the one stored (as a digest).
    [printed] = KEY.findall(output)
    key = ApiKey.objects.get(account=account)
    assert key.name == "Default key" and key.matches(printed)
    assert printed not in str(list(AuditEvent.objects.values()))
    actions = set(AuditEvent.objects.filter(account=account).values_list("action", flat=True))
    assert {"account.created", "apikey.created"} <= actions


def test_second_run_changes_nothing_and_says_so():
    run("seed_demo")
    before = row_counts()
    output = run("seed_demo")
    assert "exists already" in output and "nothing changed" in output
    assert not KEY.search(output)
    assert row_counts() == before


def test_dry_run_writes_nothing():
    before = row_counts()
    assert "Would create" in run("seed_demo", "--dry-run")
    assert row_counts() == before


def test_seed_refuses_to_adopt_an_unrelated_user_with_the_demo_email():
    User.objects.create_user(demo.DEMO_OWNER_EMAIL, "someone-elses-password")
    before = row_counts()
    with pytest.raises(CommandError, match="refusing to touch that user"):
        run("seed_demo")
    assert row_counts() == before
    assert User.objects.get(email=demo.DEMO_OWNER_EMAIL).check_password("someone-elses-password")


def test_demo_login_help_prints_everything_needed_to_log_in():
    run("seed_demo")
    secret = TOTPDevice.objects.get(user__email=demo.DEMO_OWNER_EMAIL).secret
    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        output = run("demo_login_help")
        current_code = pyotp.TOTP(secret).now()
    assert demo.DEMO_OWNER_EMAIL in output
    assert f"Password:  {demo.DEMO_PASSWORD}" in output
    assert f"2FA secret (TOTP): {secret}" in output
    assert f"otpauth://totp/StatusPool:demo%40statuspool.local?secret={secret}" in output
    assert f"Code right now:    {current_code}" in output
    assert f"pyotp.TOTP('{secret}').now()" in output
    assert "http://" in output
    # Where to get an API key (the seeded key's secret was shown once, by seed_demo).
    assert "/settings/api-access/" in output
    assert f'createapikey --account "{demo.DEMO_ACCOUNT_NAME}"' in output


def test_demo_login_help_says_when_the_demo_data_is_missing():
    with pytest.raises(CommandError, match="demo data is missing.*seed_demo"):
        run("demo_login_help")

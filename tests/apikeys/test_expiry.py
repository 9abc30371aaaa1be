"""Expiry dates (issue 14 item 1): chosen at creation, badge under 7 days, 401 key_expired,
reminders 7 days and 1 day before, apikey.expired recorded once, rotation carries the policy."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from apikeys.expiry import apikeys_expire, parse_duration
from apikeys.models import ApiKey, Status
from apikeys.replacement import apikey_rotate
from apikeys.services import apikey_create
from apikeys.tasks import expire_keys
from audit.services import Actor
from statuspool.notifications.models import OutboxEmail
from tests.apikeys.helpers import events, sudo_data
from tests.conftest import login

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _key(account, days, *, name="ci", created_by=None):
    with time_machine.travel(START, tick=False):
        return apikey_create(
            account=account,
            name=name,
            scopes=["monitors:read"],
            actor=Actor.system("t"),
            created_by=created_by,
            expires_at=START + timedelta(days=days) if days else None,
        )


def _reminders():
    return list(OutboxEmail.objects.filter(template="apikey_expiry_reminder").order_by("id"))


def test_reminders_7_and_1_day_before_then_expired_once(account_a, alice, bob):
    key, _ = _key(account_a, 30, created_by=bob)
    for day in range(0, 23):  # nothing before the 7-day mark
        with time_machine.travel(START + timedelta(days=day), tick=False):
            assert apikeys_expire() == {"reminded": [], "expired": []}
    with time_machine.travel(START + timedelta(days=23, hours=1), tick=False):
        assert apikeys_expire()["reminded"] == [key.public_id]
        assert apikeys_expire()["reminded"] == []  # hourly runs send it once
    with time_machine.travel(START + timedelta(days=29, hours=1), tick=False):
        assert apikeys_expire()["reminded"] == [key.public_id]
    reminders = _reminders()
    assert [r.subject for r in reminders] == [
        "[StatusPool] API key “ci” expires in 7 days",
        "[StatusPool] API key “ci” expires in 1 day",
    ]
    assert reminders[0].to == ["alice@acme.test", "bob@acme.test"]  # owner and creator
    assert not events("apikey.expired")
    with time_machine.travel(START + timedelta(days=30, minutes=5), tick=False):
        assert apikeys_expire()["expired"] == [key.public_id]
        assert apikeys_expire()["expired"] == []
    (event,) = events("apikey.expired")
    assert (
        event.actor_kind == "system" and event.details["expires_at"] == key.expires_at.isoformat()
    )
    key.refresh_from_db()
    assert key.expiry_recorded_at is not None and key.status == Status.ACTIVE
    notices = OutboxEmail.objects.filter(template="security_notice", subject__contains="expired")
    assert sorted(n.to[0] for n in notices) == ["alice@acme.test", "bob@acme.test"]


def test_a_short_lived_key_gets_no_reminder_it_could_not_use(account_a, alice):
    key, _ = _key(account_a, 7)
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        assert apikeys_expire()["reminded"] == []  # created inside the 7-day window
    with time_machine.travel(START + timedelta(days=6, hours=1), tick=False):
        assert apikeys_expire()["reminded"] == [key.public_id]
    assert [r.subject.endswith("expires in 1 day") for r in _reminders()] == [True]


def test_late_job_sends_only_the_nearest_reminder(account_a, alice):
    key, _ = _key(account_a, 30)
    with time_machine.travel(START + timedelta(days=29, hours=12), tick=False):
        apikeys_expire()
    assert [r.subject.endswith("1 day") for r in _reminders()] == [True]


def test_dry_run_and_command(account_a, alice):
    key, _ = _key(account_a, 7)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        from io import StringIO

        out = StringIO()
        call_command("expire_keys", "--dry-run", stdout=out)
        assert f"Would record as expired: {key.public_id}" in out.getvalue()
        assert not events("apikey.expired")
        assert expire_keys.delay().get() == {"reminded": 0, "expired": 1}
    assert len(events("apikey.expired")) == 1


def test_revoked_keys_are_left_alone(account_a, alice, system_actor):
    from apikeys.services import apikey_revoke

    key, _ = _key(account_a, 7)
    apikey_revoke(key=key, actor=system_actor)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        assert apikeys_expire() == {"reminded": [], "expired": []}


def test_expired_keys_free_their_place_and_name(account_a, alice, settings):
    settings.APIKEY_MAX_PER_ACCOUNT = 1
    _key(account_a, 7)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        key, _ = apikey_create(
            account=account_a, name="ci", scopes=["monitors:read"], actor=Actor.system("t")
        )
    assert key.name == "ci"


def test_expiry_must_be_in_the_future_and_bounded(account_a, alice):
    for when in (timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=5000)):
        with pytest.raises(ValidationError):
            apikey_create(
                account=account_a,
                name="x",
                scopes=["monitors:read"],
                actor=Actor.system("t"),
                expires_at=when,
            )
    assert not ApiKey.objects.filter(name="x").exists()


def test_rotation_carries_the_lifetime_over(account_a, alice, system_actor):
    old, _ = _key(account_a, 30)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        new, _ = apikey_rotate(key=old, actor=system_actor, expire_old_in="now")
    assert new.expires_at == START + timedelta(days=40)  # 30 days from the rotation
    never, _ = _key(account_a, None, name="forever")
    newer, _ = apikey_rotate(key=never, actor=system_actor, expire_old_in="now")
    assert newer.expires_at is None


def test_parse_duration():
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "30", "0d", "3y", "-1d", "9999d"):
        with pytest.raises(ValidationError):
            parse_duration(bad)


def test_create_command_with_expiry(account_a, alice):
    from io import StringIO

    out = StringIO()
    call_command(
        "createapikey",
        "--account",
        account_a.name,
        "--name",
        "cli",
        "--scopes",
        "monitors:read",
        "--expires-in",
        "30d",
        stdout=out,
    )
    key = ApiKey.objects.get(name="cli")
    assert abs(key.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert "expiring" in out.getvalue()
    out = StringIO()
    call_command("listapikeys", "--account", account_a.name, stdout=out)
    row = next(line for line in out.getvalue().splitlines() if line.startswith(key.public_id))
    assert f"{key.expires_at:%Y-%m-%d}" in row


# --- the dashboard ---------------------------------------------------------------------------
def test_create_with_a_preset_and_with_a_date(client, alice, account_a):
    login(client, alice)
    response = client.post(
        "/settings/api-access/new/",
        sudo_data(alice, name="thirty", scopes=["monitors:read"], expires="30d"),
    )
    assert response.status_code == 200 and b"sp_live_" in response.content
    key = ApiKey.objects.get(name="thirty")
    assert abs(key.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    day = (timezone.now() + timedelta(days=45)).date()
    client.post(
        "/settings/api-access/new/",
        sudo_data(
            alice,
            name="dated",
            scopes=["monitors:read"],
            expires="date",
            expires_on=day.isoformat(),
        ),
    )
    dated = ApiKey.objects.get(name="dated")
    assert dated.expires_at == datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


def test_date_choice_needs_a_date(client, alice):
    login(client, alice)
    response = client.post(
        "/settings/api-access/new/",
        sudo_data(alice, name="nodate", scopes=["monitors:read"], expires="date"),
    )
    assert "Pick the day the key should expire." in response.content.decode()
    assert not ApiKey.objects.filter(name="nodate").exists()


def test_badge_under_seven_days_and_expired_page(client, alice, account_a):
    key, _ = _key(account_a, 30)
    login(client, alice)
    with time_machine.travel(START + timedelta(days=20), tick=False):
        page = client.get("/settings/api-access/").content.decode()
        assert "Expires in" not in page
    with time_machine.travel(START + timedelta(days=25), tick=False):
        page = client.get("/settings/api-access/").content.decode()
        assert "Expires in 5" in page
        detail = client.get(f"/settings/api-access/{key.public_id}/").content.decode()
        assert "Replace it before then" in detail
    with time_machine.travel(START + timedelta(days=31), tick=False):
        detail = client.get(f"/settings/api-access/{key.public_id}/").content.decode()
        assert "401 key_expired" in detail
        listing = client.get("/settings/api-access/").content.decode()
        assert "Revoked and expired keys (1)" in listing

"""Stale keys: flagged at 60 idle days, reminded 7 days before, suspended at 90 (SPEC.md)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from apikeys.models import ApiKey, Status
from apikeys.services import apikey_keep_active
from apikeys.stale import apikeys_flag_stale, apikeys_suspend_stale
from apikeys.tasks import flag_stale_keys, suspend_stale_keys
from statuspool.notifications.models import OutboxEmail
from tests.apikeys.helpers import events

START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def day(n):
    return START + timedelta(days=n)


@pytest.fixture
def idle_key(alice, make_key):
    """A key created at START and never used; Alice owns the account."""
    with time_machine.travel(START, tick=False):
        key, _ = make_key(name="nightly-export")
    return key


def run_daily(until_day, from_day=0):
    """What beat does: both jobs once a day, clock frozen at each day's run."""
    for n in range(from_day, until_day + 1):
        with time_machine.travel(day(n), tick=False):
            flag_stale_keys.delay()
            suspend_stale_keys.delay()


def emails(template):
    return list(OutboxEmail.objects.filter(template=template))


# Creating and suspending keys also notifies the admins (security_notice, tested on its own).
STALE_EMAILS = OutboxEmail.objects.exclude(template="security_notice")


@pytest.mark.django_db
class TestFlagStale:
    def test_not_flagged_before_60_days(self, idle_key):
        with time_machine.travel(day(59) + timedelta(hours=23), tick=False):
            assert apikeys_flag_stale() == {"flagged": [], "reminded": []}
        idle_key.refresh_from_db()
        assert idle_key.stale_notified_at is None
        assert not STALE_EMAILS.exists()

    def test_flagged_once_with_email_to_owner(self, idle_key, alice, bob):
        with time_machine.travel(day(60), tick=False):
            result = apikeys_flag_stale()
            idle_key.refresh_from_db()
            assert idle_key.is_stale
        assert result["flagged"] == [idle_key.public_id]
        assert idle_key.stale_notified_at == day(60)
        (event,) = events("apikey.flagged_stale")
        assert event.actor_kind == "system" and event.account_id == idle_key.account_id
        assert event.details["suspends_at"] == day(90).isoformat()
        (email,) = emails("apikey_stale")
        assert email.to == [alice.email]  # the owner only, not Bob the admin
        assert email.context["suspends_on"] == day(90).isoformat()  # START + 90 days
        assert email.context["key_display_id"] == idle_key.display_id
        assert email.context["key_url"].endswith(f"/settings/api-access/{idle_key.public_id}/")
        with time_machine.travel(day(61), tick=False):
            assert apikeys_flag_stale()["flagged"] == []
        assert len(emails("apikey_stale")) == 1
        assert len(events("apikey.flagged_stale")) == 1

    def test_dry_run_changes_nothing(self, idle_key):
        with time_machine.travel(day(60), tick=False):
            assert apikeys_flag_stale(dry_run=True)["flagged"] == [idle_key.public_id]
        idle_key.refresh_from_db()
        assert idle_key.stale_notified_at is None
        assert not STALE_EMAILS.exists() and not events("apikey.flagged_stale")

    def test_recent_use_or_keep_active_prevents_flag(self, idle_key, make_key, system_actor):
        with time_machine.travel(day(10), tick=False):
            used, _ = make_key(name="used")
        ApiKey.objects.filter(pk=used.pk).update(last_used_at=day(30), created_at=START)
        with time_machine.travel(day(60), tick=False):
            apikey_keep_active(key=idle_key, actor=system_actor)
            assert apikeys_flag_stale()["flagged"] == []

    def test_revoked_suspended_and_winding_down_keys_are_skipped(self, idle_key, make_key):
        ApiKey.objects.filter(pk=idle_key.pk).update(status=Status.REVOKED)
        with time_machine.travel(START, tick=False):
            suspended, _ = make_key(name="suspended")
            rotating, _ = make_key(name="rotating")
        ApiKey.objects.filter(pk=suspended.pk).update(status=Status.SUSPENDED)
        ApiKey.objects.filter(pk=rotating.pk).update(grace_ends_at=day(70))
        with time_machine.travel(day(60), tick=False):
            assert apikeys_flag_stale()["flagged"] == []

    def test_used_again_after_warning_starts_a_new_cycle(self, idle_key, alice):
        with time_machine.travel(day(60), tick=False):
            apikeys_flag_stale()
        # The key is used on day 65, then idles again: a new warning 60 days after that use.
        ApiKey.objects.filter(pk=idle_key.pk).update(last_used_at=day(65))
        with time_machine.travel(day(124), tick=False):
            assert apikeys_flag_stale()["flagged"] == []
        with time_machine.travel(day(125), tick=False):
            assert apikeys_flag_stale()["flagged"] == [idle_key.public_id]
        assert len(emails("apikey_stale")) == 2
        assert emails("apikey_stale")[1].context["suspends_on"] == day(155).isoformat()


@pytest.mark.django_db
class TestReminderAndSuspension:
    def test_full_timeline_each_email_exactly_once(self, idle_key, alice):
        run_daily(until_day=100)
        idle_key.refresh_from_db()
        assert idle_key.status == Status.SUSPENDED
        assert idle_key.stale_notified_at == day(60)
        assert idle_key.suspension_reminder_sent_at == day(83)  # 7 days before day 90
        assert idle_key.suspended_at == day(90)
        assert len(emails("apikey_stale")) == 1
        assert len(emails("apikey_suspension_reminder")) == 1
        assert emails("apikey_suspension_reminder")[0].context["suspends_on"] == day(90).isoformat()
        assert len(emails("apikey_suspended")) == 1
        assert all(email.to == [alice.email] for email in STALE_EMAILS.all())
        assert len(events("apikey.flagged_stale")) == 1
        (suspended,) = events("apikey.suspended")
        assert suspended.actor_kind == "system"
        assert suspended.actor_label == "apikeys.tasks.suspend_stale_keys"
        assert suspended.details["reason"] == "Not used for 90 days"

    def test_not_suspended_on_day_89(self, idle_key):
        run_daily(until_day=89)
        idle_key.refresh_from_db()
        assert idle_key.status == Status.ACTIVE
        assert not events("apikey.suspended")

    def test_never_suspended_without_a_warning(self, idle_key):
        # The jobs were not running: a key found 95 days idle is warned first, not suspended.
        with time_machine.travel(day(95), tick=False):
            assert apikeys_suspend_stale() == []
            result = apikeys_flag_stale()
        assert result["flagged"] == [idle_key.public_id]
        (email,) = emails("apikey_stale")
        assert email.context["suspends_on"] == day(102).isoformat()
        idle_key.refresh_from_db()
        # The warning already gives the last week's notice: no separate reminder follows.
        assert idle_key.suspension_reminder_sent_at == day(95)
        run_daily(from_day=96, until_day=101)
        idle_key.refresh_from_db()
        assert idle_key.status == Status.ACTIVE
        run_daily(from_day=102, until_day=103)
        idle_key.refresh_from_db()
        assert idle_key.status == Status.SUSPENDED
        assert not emails("apikey_suspension_reminder")

    def test_keep_active_after_warning_prevents_suspension(self, idle_key, system_actor):
        run_daily(until_day=85)
        with time_machine.travel(day(86), tick=False):
            apikey_keep_active(key=idle_key, actor=system_actor)
        run_daily(from_day=86, until_day=120)
        idle_key.refresh_from_db()
        assert idle_key.status == Status.ACTIVE
        assert not events("apikey.suspended")
        assert len(emails("apikey_stale")) == 1  # next warning only at day 86 + 60

    def test_suspend_dry_run(self, idle_key):
        run_daily(until_day=89)
        with time_machine.travel(day(90), tick=False):
            assert apikeys_suspend_stale(dry_run=True) == [idle_key.public_id]
        idle_key.refresh_from_db()
        assert idle_key.status == Status.ACTIVE

    @override_settings(APIKEY_STALE_DAYS=10, APIKEY_SUSPEND_DAYS=20, APIKEY_SUSPEND_REMINDER_DAYS=3)
    def test_numbers_are_settings(self, idle_key):
        run_daily(until_day=20)
        idle_key.refresh_from_db()
        assert idle_key.stale_notified_at == day(10)
        assert idle_key.suspension_reminder_sent_at == day(17)
        assert idle_key.suspended_at == day(20)


@pytest.mark.django_db
class TestCommands:
    def test_flag_and_suspend_commands(self, idle_key, capsys):
        with time_machine.travel(day(60), tick=False):
            call_command("flag_stale_keys", "--dry-run")
            assert "Would flag 1 stale key(s): " + idle_key.public_id in capsys.readouterr().out
            assert not events("apikey.flagged_stale")
            call_command("flag_stale_keys")
            assert f"Flagged 1 stale key(s): {idle_key.public_id}" in capsys.readouterr().out
        (event,) = events("apikey.flagged_stale")
        assert event.actor_label == "manage.py flag_stale_keys"
        with time_machine.travel(day(90), tick=False):
            call_command("suspend_stale_keys", "--dry-run")
            assert "Would suspend 1 key(s)" in capsys.readouterr().out
            call_command("suspend_stale_keys")
        idle_key.refresh_from_db()
        assert idle_key.status == Status.SUSPENDED
        assert events("apikey.suspended")[0].actor_label == "manage.py suspend_stale_keys"

    def test_help_states_criteria(self, capsys):
        for command, phrase in (
            ("flag_stale_keys", "not used for 60 days"),
            ("suspend_stale_keys", "not used for 90 days"),
        ):
            with pytest.raises(SystemExit):
                call_command(command, "--help")
            out = capsys.readouterr().out.replace("\n", " ")
            assert phrase in " ".join(out.split()) and "--dry-run" in out


@pytest.mark.django_db
def test_emails_render_with_the_suspension_date(idle_key, alice):
    from statuspool.notifications.services import render_messages

    run_daily(until_day=90)
    for template, phrase in (
        ("apikey_stale", "will be suspended automatically on 2025-04-01 09:00 UTC"),
        ("apikey_suspension_reminder", "will be suspended automatically on 2025-04-01 09:00 UTC"),
        ("apikey_suspended", "was suspended on 2025-04-01 09:00 UTC"),
    ):
        (email,) = emails(template)
        (message,) = render_messages(email)
        html = message.alternatives[0][0]
        assert phrase in message.body
        assert "2025-04-01" in html and idle_key.display_id in html
        assert f'"{idle_key.name}"' in message.body  # plain text is not HTML-escaped
        assert f"/settings/api-access/{idle_key.public_id}/" in message.body
        assert message.to == [alice.email]


def test_suspension_date_and_overdue_are_the_models_and_the_jobs(idle_key):
    """``suspends_on``/``suspension_overdue``: the same rule the daily job applies."""
    assert idle_key.suspends_on == day(90) and not idle_key.warned_this_idle_cycle
    # Warned late (day 88): the 7-day notice pushes the suspension to day 95.
    idle_key.stale_notified_at = day(88)
    assert idle_key.warned_this_idle_cycle and idle_key.suspends_on == day(95)
    with time_machine.travel(day(94), tick=False):
        assert not idle_key.suspension_overdue
    with time_machine.travel(day(95), tick=False):
        assert idle_key.suspension_overdue
    # Used after the warning: a new idle cycle, the old warning no longer counts.
    idle_key.last_used_at = day(89)
    assert not idle_key.warned_this_idle_cycle and idle_key.suspends_on == day(179)


def test_detail_page_says_when_a_stale_key_is_due(client, alice, idle_key):
    from tests.conftest import login

    login(client, alice)
    url = f"/settings/api-access/{idle_key.public_id}/"
    with time_machine.travel(day(70), tick=False):
        text = client.get(url).content.decode()
    assert "will be suspended automatically on" in text and "2025-04-01" in text
    with time_machine.travel(day(91), tick=False):
        text = client.get(url).content.decode()
    assert "due for automatic suspension" in text


@pytest.mark.django_db
def test_each_recipient_reads_the_dates_in_their_own_time_zone(idle_key, alice, bob):
    """One time rule in emails too: a recipient's zone setting, named after each time."""
    from statuspool.notifications.services import render_messages

    alice.time_zone = "America/New_York"
    alice.save(update_fields=["time_zone"])
    run_daily(until_day=60)
    (email,) = emails("apikey_stale")
    email.to = [alice.email, bob.email, "billing@example.com"]
    by_recipients = {tuple(message.to): message for message in render_messages(email)}
    assert set(by_recipients) == {(alice.email,), (bob.email, "billing@example.com")}
    # Day 90 at 09:00 UTC is 05:00 in New York (EDT in April).
    assert "on 2025-04-01 05:00 EDT" in by_recipients[(alice.email,)].body
    assert "on 2025-04-01 09:00 UTC" in by_recipients[(bob.email, "billing@example.com")].body

"""Wording of the stale-key and usage emails (issue 14 item 6): each of these failed before."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apikeys.stale import apikeys_flag_stale
from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import render_message

pytestmark = pytest.mark.django_db
START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def day(n):
    return START + timedelta(days=n)


@pytest.fixture
def idle_key(alice, make_key):
    with time_machine.travel(START, tick=False):
        key, _ = make_key(name="nightly-export")
    return key


def _stale_email():
    email = OutboxEmail.objects.get(template="apikey_stale")
    return email, render_message(email)


def test_stale_subject_says_the_real_idle_time(idle_key):
    with time_machine.travel(day(75), tick=False):  # the job did not run for two weeks
        apikeys_flag_stale()
    email, _ = _stale_email()
    assert email.subject == "API key “nightly-export” has not been used for 75 days"


def test_stale_email_on_time_gives_the_90_day_rule(idle_key):
    with time_machine.travel(day(60), tick=False):
        apikeys_flag_stale()
    email, message = _stale_email()
    assert email.subject.endswith("has not been used for 60 days")
    # One time rule: the moment in the recipient's zone, which is named (UTC without a setting).
    assert "suspended automatically on 2025-04-01 09:00 UTC (90 days without use)" in message.body


def test_stale_email_does_not_contradict_a_date_the_notice_moved(idle_key):
    with time_machine.travel(day(86), tick=False):  # 90 idle days would leave 4 days' notice
        apikeys_flag_stale()
    email, message = _stale_email()
    assert email.context["suspends_on"].startswith("2025-04-04T")  # day 86 + 7 days of notice
    assert "90 days without use" not in message.body
    assert "(7 days after this email, so you have time to act)" in message.body
    html = message.alternatives[0][0]
    assert "90 days without use" not in html and "7 days after this email" in html


def test_stale_email_is_proper_english(idle_key):
    with time_machine.travel(day(60), tick=False):
        apikeys_flag_stale()
    _, message = _stale_email()
    assert "are risk without benefit" not in message.body
    assert "unused keys are a risk with no benefit" in message.body
    assert "unused keys are a risk with no benefit" in message.alternatives[0][0]


def _rate_email(plan):
    return OutboxEmail(
        to=["alice@acme.test"],
        subject="[StatusPool] API key “ci” passed 80% of its read rate limit",
        template="usage_rate_limit",
        context={
            "key_name": "ci",
            "key_display_id": "sp_live_abcd1234…",
            "account_name": "Acme",
            "key_url": "http://x/",
            "limit": 600,
            "resource": "read",
            "plan": plan,
            "window_ends": "2025-01-01 09:01:00 UTC",
        },
    )


def test_rate_limit_alert_offers_an_upgrade_only_below_enterprise():
    team = render_message(_rate_email("Team"))
    assert "upgrade to the Enterprise plan" in team.body
    enterprise = render_message(_rate_email("Enterprise"))
    for text in (enterprise.body, enterprise.alternatives[0][0]):
        assert "upgrade" not in text.lower()
        assert "contact StatusPool support" in text

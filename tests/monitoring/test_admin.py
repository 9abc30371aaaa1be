"""The operators' admin shows monitoring data and the outbox, and never a channel secret."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from statuspool.monitoring.models import NotificationChannel
from statuspool.notifications.models import OutboxEmail
from tests.conftest import login, make_user

pytestmark = pytest.mark.django_db
SECRET = "https://hooks.slack.com/services/T1111/B2222/very-secret-webhook-value"


@pytest.fixture
def operator(client, db):
    user = make_user("operator@statuspool.test")
    user.is_staff = user.is_superuser = True
    user.save()
    return login(client, user)


@pytest.fixture
def channel(account_a):
    channel = NotificationChannel(account=account_a, name="#acme-ops", kind="slack")
    channel.secret = SECRET
    channel.save()
    return channel


def test_channel_secret_is_never_displayed_only_whether_it_is_set(operator, channel, account_a):
    NotificationChannel.objects.create(account=account_a, name="Mail", kind="email")
    listing = operator.get(reverse("admin:monitoring_notificationchannel_changelist"))
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "#acme-ops" in page and ">set<" in page and ">not set<" in page
    assert "very-secret-webhook-value" not in page and "v1$" not in page

    change = operator.get(reverse("admin:monitoring_notificationchannel_change", args=[channel.pk]))
    page = change.content.decode()
    assert change.status_code == 200
    assert "very-secret-webhook-value" not in page and "v1$" not in page
    assert 'name="secret"' not in page


def test_saving_a_channel_in_the_admin_keeps_its_secret(operator, channel, account_a):
    url = reverse("admin:monitoring_notificationchannel_change", args=[channel.pk])
    response = operator.post(
        url,
        {
            "account": account_a.pk,
            "name": "#acme-ops-renamed",
            "kind": "slack",
            "address": "",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = NotificationChannel.objects.get(pk=channel.pk)
    assert channel.name == "#acme-ops-renamed"
    assert channel.secret == SECRET


def test_monitoring_changelists_load_without_secrets(operator):
    from statuspool.onboarding.demo import seed_demo

    seed_demo()
    secrets = [c.secret for c in NotificationChannel.objects.all() if c.secret]
    for name in (
        "monitor",
        "uptimeday",
        "incident",
        "notificationchannel",
        "alertrule",
        "alertdispatch",
    ):
        response = operator.get(reverse(f"admin:monitoring_{name}_changelist"))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert "Northwind" in page or name == "uptimeday", name
        assert not any(secret in page for secret in secrets), name


def test_outbox_admin_is_read_only_and_retries_only_unsent_emails(operator):
    fields = {"to": ["a@b.test"], "template": "x", "subject": "s", "context": {}}
    with transaction.atomic():
        failed = OutboxEmail.objects.create(
            **fields, status=OutboxEmail.Status.FAILED, attempts=8, last_error="SMTPException: no"
        )
        sent = OutboxEmail.objects.create(
            **fields, status=OutboxEmail.Status.SENT, attempts=1, sent_at=timezone.now()
        )
    changelist = reverse("admin:notifications_outboxemail_changelist")
    assert operator.get(changelist).status_code == 200
    assert operator.get(reverse("admin:notifications_outboxemail_add")).status_code == 403
    response = operator.post(
        changelist,
        {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    assert "1 email(s) queued" in response.content.decode()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxEmail.Status.PENDING, 0)
    assert failed.next_attempt_at <= timezone.now()
    assert (sent.status, sent.attempts) == (OutboxEmail.Status.SENT, 1)

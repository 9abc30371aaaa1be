"""The email outbox: written with its event, sent once by a worker, retried, never lost or doubled."""

import smtplib
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template import TemplateDoesNotExist
from django.utils import timezone

from statuspool.notifications import services
from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import MAX_ATTEMPTS, email_enqueue
from statuspool.notifications.tasks import send_outbox_email, sweep_outbox

TEMPLATES_DIR = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def _test_templates(settings):
    engines = [dict(engine) for engine in settings.TEMPLATES]
    engines[0]["DIRS"] = [*engines[0]["DIRS"], TEMPLATES_DIR]
    settings.TEMPLATES = engines


def enqueue(**overrides):
    fields = {
        "to": ["owner@acme.test"],
        "subject": "Your key needs attention",
        "template": "outbox_test",
        "context": {"name": "Alice <3", "key_label": "prod-cli"},
    }
    fields.update(overrides)
    return email_enqueue(**fields)


class FailingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        enqueue()
    assert OutboxEmail.objects.count() == 0


@pytest.mark.django_db
def test_email_is_written_with_its_event_and_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            email = enqueue()
            # Nothing leaves before the event's transaction commits.
            assert mail.outbox == []
    assert len(callbacks) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.attempts == 1 and email.sent_at is not None
    [message] = mail.outbox
    assert message.to == ["owner@acme.test"]
    assert message.subject == "Your key needs attention"
    assert "Hello Alice <3, your key prod-cli needs attention & care." in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Alice &lt;3" in html and "<strong>prod-cli</strong>" in html
    assert "StatusPool" in html and "StatusPool" in message.body  # the shared layout


@pytest.mark.django_db
def test_a_rolled_back_event_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ZeroDivisionError):
            with transaction.atomic():
                enqueue()
                1 / 0  # noqa: B018 — the event fails after queueing its email
    assert callbacks == []
    assert OutboxEmail.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_dedup_key_queues_one_email_and_keeps_the_callers_transaction_usable(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = enqueue(dedup_key="usage-alert:key-7:2026-11-28T10")
        with transaction.atomic():
            second = enqueue(dedup_key="usage-alert:key-7:2026-11-28T10", subject="Other")
            # The duplicate did not poison the transaction: more queries still work.
            third = enqueue(dedup_key="usage-alert:key-7:2026-11-28T11")
    assert second.pk == first.pk
    assert third.pk != first.pk
    assert len(callbacks) == 2
    assert OutboxEmail.objects.count() == 2
    assert sorted(m.subject for m in mail.outbox) == ["Your key needs attention"] * 2


@pytest.mark.django_db
def test_a_duplicate_insert_race_returns_the_winner(monkeypatch):
    with transaction.atomic():
        winner = enqueue(dedup_key="race")
    # Simulate the other writer committing between our lookup and our insert: the first
    # lookup misses, the insert hits the unique constraint, the lookup after it finds the row.
    real_get = QuerySet.get
    calls = []

    def get_that_misses_once(queryset, *args, **kwargs):
        if queryset.model is OutboxEmail:
            calls.append(kwargs)
            if len(calls) == 1:
                raise OutboxEmail.DoesNotExist
        return real_get(queryset, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get", get_that_misses_once)
    with transaction.atomic():
        loser = enqueue(dedup_key="race")
        assert OutboxEmail.objects.filter(dedup_key="race").count() == 1
    assert len(calls) == 2
    assert loser.pk == winner.pk


@pytest.mark.django_db
def test_unknown_template_or_bad_arguments_fail_in_the_callers_transaction():
    with transaction.atomic():
        with pytest.raises(TemplateDoesNotExist):
            enqueue(template="no_such_email")
        with pytest.raises(ValueError):
            enqueue(template="../../secrets")
        with pytest.raises(ValueError):
            enqueue(to=[])
    assert OutboxEmail.objects.count() == 0


@pytest.mark.django_db
def test_email_survives_a_failing_sender_and_is_sent_exactly_once_after_recovery(
    settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            email = enqueue()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING
    assert email.attempts == 1
    assert email.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert email.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert "failed (attempt 1)" in caplog.text

    # Not due yet: neither a repeated task nor the sweep touches it.
    assert send_outbox_email(email.pk) == "skipped"
    assert sweep_outbox() == {}
    email.refresh_from_db()
    assert email.attempts == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(email.next_attempt_at + timedelta(seconds=1)):
        assert sweep_outbox() == {"sent": 1}
        assert sweep_outbox() == {}
        assert send_outbox_email(email.pk) == "skipped"
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.attempts == 2 and email.last_error == ""
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_backoff_doubles_and_gives_up_after_eight_attempts(settings):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.FailingBackend"
    with transaction.atomic():
        email = enqueue()
    delays = []
    now = timezone.now()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = services.outbox_send(email_id=email.pk, now=now)
        email.refresh_from_db()
        assert email.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert outcome == "retry"
            delays.append(email.next_attempt_at - now)
            now = email.next_attempt_at
    assert outcome == "failed"
    assert email.status == OutboxEmail.Status.FAILED
    assert [d.total_seconds() / 60 for d in delays] == [1, 2, 4, 8, 16, 32, 64]
    # Given up for good: the sweep leaves it alone even much later.
    assert services.outbox_sweep(now=now + timedelta(days=1)) == {}
    assert mail.outbox == []


@pytest.mark.django_db
def test_broker_down_at_commit_is_logged_and_the_sweep_sends_later(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr(send_outbox_email, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            email = enqueue()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and email.attempts == 0
    assert f"could not enqueue email {email.pk}" in caplog.text
    assert mail.outbox == []
    assert sweep_outbox() == {"sent": 1}
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert len(mail.outbox) == 1


class SlowBackend(LocmemBackend):
    """Holds the first send open until the test says so, so a second worker runs meanwhile."""

    sending = threading.Event()
    release = threading.Event()
    sends = 0

    def send_messages(self, messages):
        type(self).sends += 1
        type(self).sending.set()
        type(self).release.wait(timeout=10)
        return super().send_messages(messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_row_send_it_once(settings):
    assert connection.vendor == "postgresql"
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.SlowBackend"
    SlowBackend.sends = 0
    SlowBackend.sending.clear()
    SlowBackend.release.clear()
    with transaction.atomic():
        email = OutboxEmail.objects.create(
            to=["owner@acme.test"], subject="Once", template="outbox_test", context={}
        )
    outcomes = {}

    def worker(name):
        try:
            outcomes[name] = services.outbox_send(email_id=email.pk)
        finally:
            connection.close()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    assert SlowBackend.sending.wait(timeout=10), "the first worker never started sending"
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join(timeout=10)  # skip_locked: returns at once instead of waiting for the lock
    assert outcomes.get("second") == "skipped"
    SlowBackend.release.set()
    first.join(timeout=10)
    assert outcomes["first"] == "sent"
    assert SlowBackend.sends == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1
    # A third, later worker finds it sent.
    assert services.outbox_send(email_id=email.pk) == "skipped"
    assert SlowBackend.sends == 1


@pytest.mark.django_db
def test_secret_context_is_sealed_kept_through_retries_and_erased_when_given_up(settings):
    """An invitation or reset link: encrypted in the row, still there for every retry while SMTP
    is down, gone once the outbox gives up (and, see test_invitations, once it is sent)."""
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.FailingBackend"
    link = "https://example.test/invitations/sp_inv_secret-looking-value/"
    with transaction.atomic():
        email = services.email_enqueue(
            to=["a@example.test"],
            subject="Invitation",
            template="team_invitation",
            context={"account_name": "Acme", "sender": "x", "role": "member", "expires_at": "-"},
            secret_context={"invitation_url": link},
        )
    email.refresh_from_db()
    assert link not in str(email.context) and services.SEALED_KEY in email.context
    assert link in services.render_message(email).body
    now = timezone.now()
    for _attempt in range(MAX_ATTEMPTS):
        services.outbox_send(email_id=email.pk, now=now)
        email.refresh_from_db()
        now = email.next_attempt_at
        if email.status == OutboxEmail.Status.PENDING:
            assert services.SEALED_KEY in email.context  # still sendable on the next try
    assert email.status == OutboxEmail.Status.FAILED
    assert services.SEALED_KEY not in email.context

"""A worker killed in the middle of sending: the email goes out at most twice, both copies with one
Message-ID, so receivers keep one (issue 11, item 5).

Real processes: a private PostgreSQL, the worker as a Django process of its own (SIGKILLed while
the SMTP server withholds its reply to DATA), an SMTP server on a free port.
"""

import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import SEND_LEASE, outbox_send, outbox_sweep
from tests.processes import ROOT, on_private_stack, subprocess_env
from tests.smtpsink import SmtpSink

pytestmark = [pytest.mark.postgres]


def _row(**fields) -> OutboxEmail:
    """A pending row as email_enqueue writes it (without its on-commit task: the test sends)."""
    defaults = {
        "to": ["owner@acme.test"],
        "subject": "First request with your key",
        "template": "usage_first_request",
        "context": {"key_name": "prod", "key_display_id": "sp_live_x", "account_name": "A"},
    }
    return OutboxEmail.objects.create(**{**defaults, **fields})


@pytest.fixture
def sink():
    server = SmtpSink()
    yield server
    server.close()


def _worker(private_postgres, sink, email_id, tmp_path) -> subprocess.Popen:
    code = (
        "import django; django.setup(); "
        "from statuspool.notifications.services import outbox_send; "
        f"print(outbox_send(email_id={email_id}))"
    )
    env = subprocess_env(
        database_url=private_postgres.url(), STATUSPOOL_VAR_DIR=tmp_path / "var",
        DJANGO_SETTINGS_MODULE="statuspool.settings", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sink.port, EMAIL_USE_TLS="false", EMAIL_TIMEOUT=5,
    )  # fmt: skip
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_is_retried_once_with_the_same_message_id(
    private_postgres, sink, tmp_path
):
    with on_private_stack(private_postgres):
        email = _row(to=[f"owner-{uuid.uuid4().hex[:6]}@acme.test"])

    sink.hold.set()
    worker = _worker(private_postgres, sink, email.pk, tmp_path)
    try:
        assert sink.received.wait(60), "the worker never reached the SMTP server"
        # The message is with the receiver; the worker waits for the "250" and dies.
        worker.kill()
        worker.wait(10)
    finally:
        sink.hold.clear()
        worker.kill()

    with on_private_stack(private_postgres), override_settings(**sink.settings()):
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.PENDING
        assert email.attempts == 1  # counted before the send, so the crash did not erase it
        # Leased: neither the next sweep nor a repeated task sends it again straight away.
        assert outbox_sweep() == {}
        assert outbox_send(email_id=email.pk) == "skipped"
        assert len(sink.messages) == 1

        after_lease = timezone.now() + SEND_LEASE + timedelta(seconds=1)
        assert outbox_sweep(now=after_lease) == {"sent": 1}
        assert outbox_sweep(now=after_lease + SEND_LEASE * 2) == {}
        email.refresh_from_db()
        assert (email.status, email.attempts) == (OutboxEmail.Status.SENT, 2)

    first, second = sink.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<outbox.{email.pk}.")
    assert first["To"] == second["To"] == email.to[0]


@pytest.mark.django_db(transaction=True)
def test_every_row_has_its_own_message_id(private_postgres, sink):
    with on_private_stack(private_postgres), override_settings(**sink.settings()):
        rows = [_row(subject=f"Mail {n}") for n in range(2)]
        deadline = time.monotonic() + 10
        while len(sink.messages) < 2 and time.monotonic() < deadline:
            outbox_sweep()
    assert len({message["Message-ID"] for message in sink.messages}) == 2
    assert {row.pk for row in rows} == {
        int(message["Message-ID"].split(".")[1]) for message in sink.messages
    }

"""The email outbox: write a row inside the event's transaction, send it from a worker after commit.

Exactly once as far as receivers can tell:

* A row is **claimed** in a short transaction of its own before anything goes out: its attempt is
  counted and it is leased (``next_attempt_at`` moves ``SEND_LEASE`` ahead), so a second worker, a
  repeated task or the sweep leaves it alone while it is being sent. SMTP then runs with no
  transaction or row lock open, and the outcome is written after.
* A worker that dies mid-send (after the server accepted the message, before the row says so)
  leaves a leased row: it is sent again once, when the lease ends, never on every sweep.
* Every attempt of one row carries the same ``Message-ID`` (``message_id``), so a receiver that
  got the first copy recognises the second.

Rows whose first task was lost (broker down, worker killed) are picked up by the periodic sweep.
"""

import logging
import re
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from statuspool import timefmt
from statuspool.crypto import decrypt, encrypt
from statuspool.notifications.models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 60  # 1, 2, 4 … 64 minutes between attempts: about two hours in all
BACKOFF_MAX_SECONDS = 6 * 3600
SWEEP_BATCH = 200
# Longer than any SMTP exchange (EMAIL_TIMEOUT is per socket operation): a row is only sent again
# this long after an attempt that never reported back.
SEND_LEASE = timedelta(minutes=10)
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")
# Context values that are secrets (invitation and password-reset links) are kept encrypted in the
# row under this key, decrypted only to render, and deleted once the email is sent or given up.
SEALED_KEY = "_sealed"
_SEALED_AAD = "notifications_outboxemail.context._sealed"


def email_enqueue(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: dict,
    dedup_key: str | None = None,
    secret_context: dict[str, str] | None = None,
) -> OutboxEmail:
    """Queue one email; call it inside the transaction of the event that causes it.

    With a ``dedup_key`` seen before, nothing is queued and the existing row is returned.
    ``secret_context`` values (links carrying a token) are stored encrypted and erased after
    sending, so the outbox table never holds a usable link in the clear.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("email_enqueue() must run inside the transaction of its event")
    if not to or not all(isinstance(address, str) and "@" in address for address in to):
        raise ValueError("email_enqueue() needs a list of email addresses")
    if not _TEMPLATE_NAME.match(template):
        raise ValueError(f"template names are lowercase words: {template!r}")
    # Fail inside the caller's transaction, not hours later in a worker, on a missing template.
    get_template(f"notifications/email/{template}.txt")
    get_template(f"notifications/email/{template}.html")
    if secret_context:
        sealed = {name: encrypt(value, _SEALED_AAD) for name, value in secret_context.items()}
        context = {**context, SEALED_KEY: sealed}
    fields = {"to": list(to), "subject": subject[:200], "template": template, "context": context}
    if dedup_key is None:
        email = OutboxEmail.objects.create(**fields)
    else:
        # get_or_create inserts under a savepoint: a duplicate key does not break the caller's
        # transaction, and a concurrent writer of the same key wins cleanly.
        email, created = OutboxEmail.objects.get_or_create(dedup_key=dedup_key, defaults=fields)
        if not created:
            return email
    transaction.on_commit(lambda: _dispatch(email.pk))
    return email


def _dispatch(email_id: int) -> None:
    from statuspool.notifications.tasks import send_outbox_email

    try:
        send_outbox_email.delay(email_id)
    except Exception:
        # The row is committed; the sweep sends it once the broker is back.
        logger.warning("outbox: could not enqueue email %s; the sweep will send it", email_id)


def backoff(attempts: int) -> timedelta:
    """Delay after the given number of failed attempts (doubling, capped)."""
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


def message_id(email: OutboxEmail, part: int = 0) -> str:
    """The row's Message-ID: the same on every attempt (RFC 5322 §3.6.4), unique per row (and per
    time-zone part, when the row's recipients read times in different zones)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "statuspool.local"
    created = int(email.created_at.timestamp() * 1_000_000)
    suffix = f".{part}" if part else ""
    return f"<outbox.{email.pk}.{created}{suffix}@{domain}>"


def _zones_of(addresses: list[str]) -> dict[str, list[str]]:
    """Recipients grouped by the time zone they read times in (UTC for unknown addresses)."""
    from statuspool.accounts.models import User

    known = dict(
        User.objects.filter(email__in=addresses).values_list("email", "time_zone").iterator()
    )
    groups: dict[str, list[str]] = {}
    for address in addresses:
        groups.setdefault(known.get(address) or "UTC", []).append(address)
    return groups


def render_messages(email: OutboxEmail) -> list[EmailMultiAlternatives]:
    """One message per time zone among the recipients: each reads every time in their own zone."""
    context = {**email.context, "subject": email.subject, "site_url": settings.SITE_URL}
    sealed = context.pop(SEALED_KEY, None) or {}
    context.update({name: decrypt(value, _SEALED_AAD) for name, value in sealed.items()})
    messages = []
    for zone_name, recipients in _zones_of(list(email.to)).items():
        with timezone.override(timefmt.zone_or_utc(zone_name)):
            text = render_to_string(f"notifications/email/{email.template}.txt", context)
            html = render_to_string(f"notifications/email/{email.template}.html", context)
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
            headers={"Message-ID": message_id(email, part=len(messages))},
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def render_message(email: OutboxEmail) -> EmailMultiAlternatives:
    """The message of the first recipient's zone: the whole email when it has one recipient."""
    return render_messages(email)[0]


def outbox_send(*, email_id: int, now: datetime | None = None) -> str:
    """Send one due, pending row. Returns "sent", "retry", "failed" or "skipped"."""
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxEmail.objects.select_for_update(skip_locked=True).filter(
            pk=email_id, status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now
        )
        email = due.first()
        if email is None:
            return "skipped"  # sent already, given up, not due, or another worker holds it
        # The claim: counted and leased before anything is sent (see the module docstring).
        # A conditional UPDATE, so on SQLite (no row locks to skip) a second claimer finds the
        # row no longer due.
        if not due.update(attempts=F("attempts") + 1, next_attempt_at=now + SEND_LEASE):
            return "skipped"
        email.attempts += 1
    try:
        get_connection(fail_silently=False).send_messages(render_messages(email))
    except Exception as error:
        return _record_failure(email, error, now)
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxEmail.Status.SENT,
        sent_at=now,
        last_error="",
        # The sealed link has gone out: it must not linger in the table.
        context={name: value for name, value in email.context.items() if name != SEALED_KEY},
    )
    return "sent"


def _record_failure(email: OutboxEmail, error: Exception, now: datetime) -> str:
    # The exception type and message only: SMTP errors carry the server's reply, never our
    # credentials, and the email body (which may hold links) is not part of it.
    email.last_error = f"{type(error).__name__}: {error}"[:500]
    if email.attempts >= MAX_ATTEMPTS:
        email.status = OutboxEmail.Status.FAILED
        email.context.pop(SEALED_KEY, None)  # a link that never went out must not linger
        logger.error("outbox: giving up on email %s after %s attempts", email.pk, email.attempts)
    else:
        email.next_attempt_at = now + backoff(email.attempts)
        logger.warning(
            "outbox: email %s failed (attempt %s), next try at %s: %s",
            email.pk,
            email.attempts,
            email.next_attempt_at.isoformat(),
            type(error).__name__,
        )
    email.save(update_fields=["status", "last_error", "next_attempt_at", "context"])
    return "failed" if email.status == OutboxEmail.Status.FAILED else "retry"


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Send every due pending row (oldest first, at most ``limit``); returns counts by outcome."""
    now = now or timezone.now()
    due_ids = list(
        OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for email_id in due_ids:
        outcome = outbox_send(email_id=email_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes

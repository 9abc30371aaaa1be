"""Failure counters for logins, second factors, sudo confirmations and sign-ups.

The counters are rows in the database (FailureCounter), one per subject and fixed window, so the
limits hold in every web process and keep holding while Redis is down: brute-force protection
never fails open (SPEC: only the /v2 rate limit may). A failed attempt costs one upsert, which the
attempt's audit event already costs anyway; a blocked attempt costs one read. Rows of ended
windows are deleted by beat (accounts.prune_failure_counters).

Only failures are counted (sign-ups count every attempt): ``status()`` peeks, ``hit()`` records
one. A counter that allows N per window refuses the attempt after the N-th until the window ends,
whatever is submitted — that is what stops guessing.

Why not django-axes (README "Security"): its lockouts are one policy (one failure limit and
cool-off) keyed on the login form's username/IP, while these are five limits with their own rates
(per IP 20/10m, per email 5/15m, per user for sudo, sign-ups per IP) around a two-step login whose
second step and sudo form never call ``authenticate()``, and every refusal must keep writing our
own audit event in the same transaction.
"""

import hashlib
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from statuspool.accounts.models import FailureCounter
from statuspool.client_ip import client_ip

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


@dataclass(frozen=True)
class Lock:
    locked: bool
    retry_after: int = 0  # seconds until the window ends

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))

    def wait_phrase(self) -> str:
        minutes = self.retry_minutes
        return f"{minutes} minute{'s' if minutes != 1 else ''}"


OPEN = Lock(locked=False)


def parse_rate(rate) -> tuple[int, int]:
    """(limit, period seconds) from "5/15m" or a (limit, seconds) pair."""
    if isinstance(rate, tuple):
        return int(rate[0]), int(rate[1])
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match[1]), int(match[2] or 1) * _UNITS[match[3]]


def _window(period: int, now: int) -> tuple[int, int]:
    start = now - now % period
    return start, start + period


def _subject(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _lock(count: int, limit: int, window_end: int, now: int) -> Lock:
    if count < limit:
        return OPEN
    return Lock(locked=True, retry_after=max(1, window_end - now))


def status(request, *, group: str, value: str, rate) -> Lock:
    limit, period = parse_rate(rate)
    now = int(time.time())
    start, end = _window(period, now)
    count = (
        FailureCounter.objects.filter(group=group, subject=_subject(value), window_start=start)
        .values_list("count", flat=True)
        .first()
    )
    return _lock(count or 0, limit, end, now)


def hit(request, *, group: str, value: str, rate) -> Lock:
    """Record one failure; returns the state after it. One atomic upsert, so concurrent failures
    from several processes are all counted."""
    limit, period = parse_rate(rate)
    now = int(time.time())
    start, end = _window(period, now)
    table = connection.ops.quote_name(FailureCounter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("group", subject, window_start, window_end, count) '  # noqa: S608  # nosec B608  # table name from model meta, values are bound parameters
            "VALUES (%s, %s, %s, %s, 1) "
            'ON CONFLICT ("group", subject, window_start) DO UPDATE '
            f"SET count = {table}.count + 1 RETURNING count",
            [group, _subject(value), start, end],
        )
        count = cursor.fetchone()[0]
    return _lock(count, limit, end, now)


def prune(*, now: int | None = None) -> int:
    """Delete the counters of windows that have ended; returns how many."""
    now = int(time.time()) if now is None else now
    deleted, _ = FailureCounter.objects.filter(window_end__lte=now).delete()
    return deleted


# --- Login: per client IP and per email address ----------------------------------------------------
def _login_counters(request, email: str):
    return (
        ("login-ip", client_ip(request) or "unknown", settings.LOGIN_RATE_PER_IP),
        ("login-email", (email or "").strip().lower(), settings.LOGIN_RATE_PER_EMAIL),
    )


def login_status(request, email: str) -> tuple[Lock, str]:
    """(lock, which) — which is "ip" or "email" when locked, the longer wait first."""
    worst, which = OPEN, ""
    for group, value, rate in _login_counters(request, email):
        lock = status(request, group=group, value=value, rate=rate)
        if lock.locked and lock.retry_after > worst.retry_after:
            worst, which = lock, group.removeprefix("login-")
    return worst, which


def login_failed(request, email: str) -> None:
    for group, value, rate in _login_counters(request, email):
        hit(request, group=group, value=value, rate=rate)


def login_lock_message(lock: Lock, which: str) -> str:
    source = "from your network" if which == "ip" else "for this email address"
    return (
        f"Too many failed sign-in attempts {source}. For your security, sign-in is paused: "
        f"try again in {lock.wait_phrase()}."
    )


# --- Sudo: per user --------------------------------------------------------------------------------
def _sudo_rate():
    return (settings.SUDO_FAILURE_LIMIT, settings.SUDO_FAILURE_WINDOW)


def sudo_status(request, user) -> Lock:
    return status(request, group="sudo", value=str(user.pk), rate=_sudo_rate())


def sudo_failed(request, user) -> Lock:
    return hit(request, group="sudo", value=str(user.pk), rate=_sudo_rate())

"""Failure counters for logins and sudo confirmations, on django-ratelimit's core.

The counters live in the shared cache (Redis in production), so every web process sees the same
numbers. Only failures are counted: ``status()`` peeks, ``hit()`` records one failure. A counter
that allows N failures per window refuses the attempt after the N-th failure until the window ends,
whatever is submitted — that is what stops guessing.

If the cache cannot be reached the limit is not enforced (and an error is logged): locking every
user out of the dashboard because Redis restarted would be worse than a short unlimited window,
and passwords and TOTP codes are still checked.
"""

import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage

from statuspool.client_ip import client_ip

logger = logging.getLogger(__name__)


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


def _usage(request, *, group: str, value: str, rate, increment: bool):
    try:
        usage = get_usage(
            request, group=group, key=lambda _group, _request: value, rate=rate, increment=increment
        )
    except Exception:
        logger.exception("Failure counter %s is unavailable; not enforcing it", group)
        return None
    if usage is None:
        return None
    if usage["time_left"] < 0:  # django-ratelimit's way of saying the cache call failed
        logger.error("Failure counter %s is unavailable; not enforcing it", group)
        return None
    return usage


def _lock(usage) -> Lock:
    if usage is None or usage["count"] < usage["limit"]:
        return OPEN
    return Lock(locked=True, retry_after=max(1, usage["time_left"]))


def status(request, *, group: str, value: str, rate) -> Lock:
    return _lock(_usage(request, group=group, value=value, rate=rate, increment=False))


def hit(request, *, group: str, value: str, rate) -> Lock:
    """Record one failure; returns the state after it."""
    return _lock(_usage(request, group=group, value=value, rate=rate, increment=True))


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

"""Rate limits of the team screens and password reset, on the shared counters of ``lockout``.

Every request counts (not only failures): these limit how much email a person or a script can
make StatusPool send. Like the login counters they fail open if the cache is down.
"""

from django.conf import settings

from statuspool.accounts import lockout
from statuspool.client_ip import client_ip


def _invitation_counter(account_id: int):
    return ("invite-account", str(account_id), settings.INVITATION_RATE_PER_ACCOUNT)


def invitation_allowed(request, account_id: int) -> lockout.Lock:
    """Count one invitation email of the account; locked when over the limit (nothing counted)."""
    group, value, rate = _invitation_counter(account_id)
    lock = lockout.status(request, group=group, value=value, rate=rate)
    if not lock.locked:
        lockout.hit(request, group=group, value=value, rate=rate)
    return lock


def password_reset_allowed(request, email: str) -> lockout.Lock:
    """Count one reset request per client IP and per address; the longer wait when locked."""
    counters = (
        ("reset-ip", client_ip(request) or "unknown", settings.PASSWORD_RESET_RATE_PER_IP),
        ("reset-email", (email or "").strip().lower(), settings.PASSWORD_RESET_RATE_PER_EMAIL),
    )
    worst = lockout.OPEN
    for group, value, rate in counters:
        lock = lockout.status(request, group=group, value=value, rate=rate)
        if lock.locked and lock.retry_after > worst.retry_after:
            worst = lock
    if not worst.locked:
        for group, value, rate in counters:
            lockout.hit(request, group=group, value=value, rate=rate)
    return worst

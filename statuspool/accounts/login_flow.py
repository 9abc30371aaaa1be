"""The two steps of signing in: password, then (when enrolled) a TOTP or recovery code.

Between the steps the session holds only a short-lived marker (who passed the password, until
when); it is never an authenticated session. ``django.contrib.auth.login()`` runs only after every
factor the user has was checked. Failures of either step count against the per-IP and per-email
limits and are audited.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from audit.services import Actor
from statuspool.accounts import lockout, recovery, services, totp
from statuspool.accounts.models import User

PENDING_KEY = "accounts_login_pending"
PENDING_SECONDS = 5 * 60
WRONG_CREDENTIALS = "The email or password is not correct."


@dataclass(frozen=True)
class Outcome:
    error: str = ""
    needs_second_factor: bool = False
    restart: bool = False  # the pending sign-in is gone: back to the password step


def safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _fail(request, *, email: str, user, reason: str, count: bool = True) -> None:
    if count:
        lockout.login_failed(request, email)
    services.login_failed(
        email=email, user=user, actor=Actor.from_request(request, user=user), reason=reason
    )


def _locked(request, email: str, user) -> str:
    lock, which = lockout.login_status(request, email)
    if not lock.locked:
        return ""
    _fail(request, email=email, user=user, reason=f"locked_out_{which}", count=False)
    return lockout.login_lock_message(lock, which)


def attempt_password(request, *, email: str, password: str, next_url: str) -> Outcome:
    email = email.strip().lower()
    known = User.objects.filter(email__iexact=email).first()
    message = _locked(request, email, known)
    if message:
        return Outcome(error=message)
    # authenticate() hashes a dummy password for unknown emails, so timing does not tell them apart.
    user = authenticate(request, email=email, password=password)
    if user is None:
        reason = (
            "unknown_email"
            if known is None
            else ("inactive" if not known.is_active else "wrong_password")
        )
        _fail(request, email=email, user=known, reason=reason)
        return Outcome(error=WRONG_CREDENTIALS)
    if user.has_2fa:
        # A new session key for the half-signed-in state, so a planted session id is worthless.
        request.session.cycle_key()
        request.session[PENDING_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "expires_at": int(time.time()) + PENDING_SECONDS,
            "next": next_url,
        }
        return Outcome(needs_second_factor=True)
    _complete(request, user, backend=user.backend, method="password")
    return Outcome()


def pending(request) -> tuple[User, dict] | None:
    """The user who passed the password step in this session, if that was under 5 minutes ago."""
    state = request.session.get(PENDING_KEY)
    if not state or state.get("expires_at", 0) < time.time():
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=state["user_id"], is_active=True).first()
    if user is None or not user.has_2fa:
        request.session.pop(PENDING_KEY, None)
        return None
    return user, state


def attempt_second_factor(request, *, user, state: dict, code: str) -> Outcome:
    message = _locked(request, user.email, user)
    if message:
        return Outcome(error=message)
    if totp.looks_like_code(code):
        check = totp.verify_and_consume(user, code)
        if check is totp.Check.ACCEPTED:
            _complete(request, user, backend=state["backend"], method="totp")
            return Outcome()
        _fail(request, email=user.email, user=user, reason=f"totp_{check.value}")
        return Outcome(error=totp.MESSAGES[check])
    if recovery.consume(user, code):
        _complete(request, user, backend=state["backend"], method="recovery_code")
        return Outcome()
    _fail(request, email=user.email, user=user, reason="wrong_recovery_code")
    return Outcome(
        error="That code is not valid. Enter the current 6-digit code or an unused recovery code."
    )


def _complete(request, user, *, backend: str, method: str) -> None:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=backend)  # rotates the session key and CSRF token
    services.login_succeeded(user=user, actor=Actor.from_request(request, user=user), method=method)

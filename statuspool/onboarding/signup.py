"""Sign-up in two steps, so that it never tells who already has an account (issue 10 item 3).

1. ``signup_request``: the form is valid. A new address gets a confirmation link by email; an
   address that already belongs to someone gets an email telling its owner that somebody tried to
   sign up with it. The person at the browser sees the same page either way ("check your inbox"),
   after the same work (a password hash is computed in both cases).
2. ``signup_confirm``: the link's owner confirms; the account, its owner and the default key are
   created (``account_create``) and the key is shown once, as before.

Every request counts toward the per-IP sign-up limit (SIGNUP_RATE_PER_IP), successful or not.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor
from statuspool.accounts.models import User
from statuspool.notifications.services import email_enqueue
from statuspool.onboarding.models import PendingSignup, token_digest
from statuspool.onboarding.services import account_create


def link_hours() -> int:
    return max(1, settings.SIGNUP_CONFIRM_SECONDS // 3600)


def _link(token: str) -> str:
    return settings.SITE_URL + reverse("onboarding:signup_confirm", args=[token])


def signup_request(
    *, email: str, full_name: str, account_name: str, password: str, ip: str | None
) -> None:
    """Queue the one email this sign-up earns; nothing tells the caller which one it was."""
    email = User.objects.normalize_email(email.strip()).lower()
    password_hash = make_password(password)  # in both branches: same work, same timing
    context = {"email": email, "ip": ip or "an unknown address", "login_url": ""}
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            context["login_url"] = settings.SITE_URL + reverse("accounts:login")
            email_enqueue(
                to=[email],
                subject="[StatusPool] Someone tried to sign up with your email address",
                template="signup_existing",
                context=context,
            )
            return
        token = secrets.token_urlsafe(32)
        PendingSignup.objects.create(
            token_digest=token_digest(token),
            email=email,
            full_name=full_name.strip(),
            account_name=account_name.strip(),
            password_hash=password_hash,
            expires_at=timezone.now() + timedelta(seconds=settings.SIGNUP_CONFIRM_SECONDS),
        )
        email_enqueue(
            to=[email],
            subject="[StatusPool] Confirm your email to create your account",
            template="signup_confirm",
            context={
                **context,
                "confirm_url": _link(token),
                "account_name": account_name,
                "hours": link_hours(),
            },
        )


def pending_for(token: str) -> PendingSignup | None:
    return PendingSignup.objects.usable().filter(token_digest=token_digest(token)).first()


def signup_confirm(*, token: str, actor: Actor):
    """(account, owner, default key plaintext), or ValidationError when the link is spent,
    expired, or its address has an account by now."""
    with transaction.atomic():
        pending = (
            PendingSignup.objects.select_for_update()
            .usable()
            .filter(token_digest=token_digest(token))
            .first()
        )
        if pending is None:
            raise ValidationError("This link is not valid any more.")
        pending.completed_at = timezone.now()
        pending.save(update_fields=["completed_at"])
        return account_create(
            name=pending.account_name,
            owner_email=pending.email,
            owner_password_hash=pending.password_hash,
            owner_full_name=pending.full_name,
            actor=actor,
            signup=True,
        )


def signup_prune(*, now=None) -> int:
    """Delete pending sign-ups whose link expired or was used (beat)."""
    now = now or timezone.now()
    stale = PendingSignup.objects.filter(expires_at__lte=now) | PendingSignup.objects.filter(
        completed_at__isnull=False
    )
    deleted, _ = stale.delete()
    return deleted

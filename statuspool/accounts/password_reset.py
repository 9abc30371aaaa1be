"""Forgotten passwords: an emailed, single-use link valid for one hour.

The link is Django's password-reset token (an HMAC over the user's id, password hash, last login
and the time, signed with SECRET_KEY): nothing is stored, it expires after
``PASSWORD_RESET_TIMEOUT`` (3600 s) and dies the moment the password changes, so it works once.
The answer to a request is the same whether or not the address exists. A reset changes the
password hash, which ends every session of the user; 2FA is untouched, so the next login still
asks for the code.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit.services import Actor, record
from statuspool.accounts.models import User
from statuspool.accounts.services import _record_for_user, check_new_password, notify_about_person
from statuspool.notifications.services import email_enqueue


def reset_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_open", args=[uid, token])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def password_reset_request(*, email: str, actor: Actor) -> None:
    """Email a reset link if an active user has this address; audited either way."""
    email = (email or "").strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    with transaction.atomic():
        if user is None:
            record(
                action="auth.password_reset_requested",
                actor=actor,
                account=None,
                target_type="user",
                target_label=email[:200],
                details={"email": email[:254], "known": False},
            )
            return
        _record_for_user(
            action="auth.password_reset_requested",
            actor=actor,
            user=user,
            details={"email": user.email, "known": True},
        )
        email_enqueue(
            to=[user.email],
            subject="Reset your StatusPool password",
            template="password_reset",
            context={"minutes": settings.PASSWORD_RESET_TIMEOUT // 60, "ip": actor.ip or ""},
            secret_context={"reset_url": reset_link(user)},
        )


def password_reset_complete(*, user, new_password: str, actor: Actor) -> None:
    """Set the new password (which ends every session) and tell the person it happened."""
    check_new_password(new_password, email=user.email, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _record_for_user(action="auth.password_reset", actor=actor, user=user)
        if not notify_about_person(user=user, kind="auth.password_reset", actor=actor):
            # Someone in no account has no admins to tell: they still hear about it themselves.
            email_enqueue(
                to=[user.email],
                subject="Your StatusPool password was reset",
                template="password_reset_done",
                context={"ip": actor.ip or "", "has_2fa": user.has_2fa},
            )

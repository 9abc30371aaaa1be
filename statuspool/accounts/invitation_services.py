"""Invitations: an emailed single-use link to join an account with a role.

The link carries ``sp_inv_…`` (the shared token format: a typo is refused before any query); the
database keeps only its SHA-256 digest. A link works for 7 days, once; resending replaces it,
revoking kills it. Accepting needs the invited address: a new person signs up with it, an
existing user accepts while logged in as it.
"""

import dataclasses

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor, record
from statuspool.accounts.models import (
    INVITABLE_ROLES,
    TEAM_ADMIN_ROLES,
    Invitation,
    Membership,
    Role,
    User,
)
from statuspool.accounts.team_services import Acting
from statuspool.notifications.security import security_notify
from statuspool.notifications.services import email_enqueue

TWO_FACTOR_REQUIRED = (
    "This account requires two-factor authentication. Set it up first, then accept the invitation."
)


class TwoFactorRequired(ValidationError):
    """Accepting is refused until the person enrolls 2FA (the account's policy)."""


def _normalise_email(value: str) -> str:
    email = User.objects.normalize_email((value or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."})
    return email


def _send(invitation: Invitation, raw: str) -> None:
    link = f"{settings.SITE_URL.rstrip('/')}{reverse('accounts:invitation_open', args=[raw])}"
    sender = invitation.invited_by_email or "A team admin"
    email_enqueue(
        to=[invitation.email],
        subject=f"{sender} invited you to {invitation.account.name} on StatusPool",
        template="team_invitation",
        context={
            "account_name": invitation.account.name,
            "sender": sender,
            "role": invitation.get_role_display(),
            "expires_at": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
        secret_context={"invitation_url": link},
    )


def invitation_create(*, account, email: str, role: str, acting: Acting) -> tuple[Invitation, str]:
    """Invite ``email`` as ``role`` (admin or member); returns the invitation and its raw token."""
    if acting.role not in TEAM_ADMIN_ROLES:
        raise PermissionDenied("Only the owner and admins invite people.")
    if role == Role.OWNER:
        raise ValidationError(
            {"role": "Nobody is invited as owner: the owner transfers ownership."}
        )
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": f"Unknown role {role!r}: choose admin or member."})
    email = _normalise_email(email)
    with transaction.atomic():
        if Membership.objects.filter(account=account, user__email__iexact=email).exists():
            raise ValidationError({"email": f"{email} is already a member of {account.name}."})
        pending = (
            Invitation.objects.select_for_update().pending().filter(account=account, email=email)
        )
        if pending.exists():
            raise ValidationError(
                {"email": f"{email} already has a pending invitation; resend it instead."}
            )
        invitation = Invitation(
            account=account,
            email=email,
            role=role,
            invited_by=acting.user,
            invited_by_email=acting.user.email if acting.user else "",
        )
        raw = invitation.set_new_token()
        invitation.save()
        record(
            action="team.invited",
            actor=acting.actor,
            account=account,
            target=invitation,
            target_label=email,
            details={"email": email, "role": role, "expires_at": invitation.expires_at},
        )
        _send(invitation, raw)
        security_notify(
            account=account,
            kind="team.invited",
            actor=acting.actor,
            context={"member_email": email, "role": invitation.get_role_display().lower()},
        )
    return invitation, raw


def _locked_pending(invitation) -> Invitation:
    locked = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=invitation.pk)
    )
    if not locked.is_pending:
        raise ValidationError("This invitation was already used, revoked or has expired.")
    return locked


def invitation_resend(*, invitation, acting: Acting) -> str:
    """A new link and 7 more days; the previous link stops working."""
    if acting.role not in TEAM_ADMIN_ROLES:
        raise PermissionDenied("Only the owner and admins manage invitations.")
    with transaction.atomic():
        locked = _locked_pending(invitation)
        raw = locked.set_new_token()
        locked.save(update_fields=["token_digest", "sent_at", "expires_at"])
        record(
            action="team.invitation_resent",
            actor=acting.actor,
            account=locked.account_id,
            target=locked,
            target_label=locked.email,
            details={"email": locked.email, "role": locked.role, "expires_at": locked.expires_at},
        )
        _send(locked, raw)
    return raw


def invitation_revoke(*, invitation, acting: Acting) -> None:
    if acting.role not in TEAM_ADMIN_ROLES:
        raise PermissionDenied("Only the owner and admins manage invitations.")
    with transaction.atomic():
        locked = _locked_pending(invitation)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            action="team.invitation_revoked",
            actor=acting.actor,
            account=locked.account_id,
            target=locked,
            target_label=locked.email,
            details={"email": locked.email, "role": locked.role},
        )


def invitation_accept(*, invitation, user, actor: Actor) -> Membership:
    """``user`` joins the account with the invited role; the link is spent."""
    with transaction.atomic():
        locked = _locked_pending(invitation)
        if user.email.lower() != locked.email.lower():
            raise PermissionDenied(
                f"This invitation is for {locked.email}. Log in with that address to accept it."
            )
        if locked.account.require_2fa and not user.has_2fa:
            raise TwoFactorRequired(TWO_FACTOR_REQUIRED)
        if Membership.objects.filter(account=locked.account, user=user).exists():
            raise ValidationError(f"You are already a member of {locked.account.name}.")
        membership = Membership.objects.create(user=user, account=locked.account, role=locked.role)
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        record(
            action="team.joined",
            actor=actor,
            account=locked.account_id,
            target=user,
            target_label=user.email,
            details={
                "email": user.email,
                "role": locked.role,
                "invitation_id": locked.pk,
                "invited_by": locked.invited_by_email,
            },
        )
        security_notify(
            account=locked.account,
            kind="team.joined",
            actor=actor,
            context={"member_email": user.email, "role": locked.get_role_display().lower()},
        )
    return membership


def invitation_signup(*, invitation, password: str, full_name: str, actor: Actor) -> User:
    """Create the invited person's user (the invited address, nothing else); not yet a member.

    Joining is ``invitation_accept``, at once or after 2FA enrollment when the account asks for it.
    """
    email = invitation.email.lower()
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        raise ValidationError({"password": error.messages})
    try:
        with transaction.atomic():
            locked = _locked_pending(invitation)
            user = User.objects.create_user(email, password, full_name=full_name.strip())
            record(
                action="auth.signup",
                actor=dataclasses.replace(actor, user=user, email=user.email),
                account=locked.account_id,
                target=user,
                target_label=user.email,
                details={"email": user.email, "invitation_id": locked.pk},
            )
    except IntegrityError:
        # Someone created this address meanwhile: they log in and accept instead.
        raise ValidationError("Log in to accept this invitation.")
    return user

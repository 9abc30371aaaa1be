"""Account and authentication workflows, each in one transaction with its audit event.

Events about a person rather than an account (logins, 2FA changes, password changes) are written
once to every account the person belongs to, so each account's team admins see them in their own
audit log (and with ``account=None`` for someone who belongs to no account).
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record
from statuspool import timefmt
from statuspool.accounts import recovery, totp
from statuspool.accounts.models import Membership, Role, TOTPDevice, User
from statuspool.accounts.signals import member_access_reduced
from statuspool.notifications.security import security_notify

ACCOUNT_NAME_MAX = 100


def _record_for_user(*, action: str, actor: Actor, user, details: dict | None = None) -> None:
    account_ids = list(
        Membership.objects.filter(user=user)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    for account_id in account_ids or [None]:
        record(
            action=action,
            actor=actor,
            account=account_id,
            target=user,
            target_label=user.email,
            details=details,
        )


def check_new_password(password: str, *, email: str, full_name: str = "", user=None) -> None:
    try:
        validate_password(password, user or User(email=email, full_name=full_name))
    except ValidationError as error:
        raise ValidationError({"password": error.messages})


# --- Passwords -----------------------------------------------------------------------------------
def password_change(*, user, new_password: str, actor: Actor) -> None:
    check_new_password(new_password, email=user.email, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _record_for_user(action="auth.password_changed", actor=actor, user=user)
        notify_about_person(user=user, kind="auth.password_changed", actor=actor)


def notify_about_person(*, user, kind: str, actor: Actor) -> bool:
    """A change to a person's own sign-in: the admins of each of their accounts are told, and the
    person once (as the one concerned, with the first account). False if they are in none."""
    memberships = list(Membership.objects.filter(user=user).select_related("account"))
    for number, membership in enumerate(sorted(memberships, key=lambda m: m.account_id)):
        security_notify(
            account=membership.account,
            kind=kind,
            actor=actor,
            subject_user=user if number == 0 else None,
            context={"user_email": user.email},
        )
    return bool(memberships)


# --- Logins --------------------------------------------------------------------------------------
def login_succeeded(*, user, actor: Actor, method: str) -> None:
    """``method``: "password" (no 2FA), "totp" or "recovery_code"."""
    details = {"method": method}
    if method == "recovery_code":
        details["recovery_codes_left"] = recovery.remaining(user)
    with transaction.atomic():
        _record_for_user(action="auth.login", actor=actor, user=user, details=details)


def login_failed(*, email: str, user, actor: Actor, reason: str) -> None:
    """A refused login; ``user`` is None when nobody has this email (one event, no account)."""
    with transaction.atomic():
        if user is None:
            record(
                action="auth.login_failed",
                actor=actor,
                account=None,
                target_type="user",
                target_label=email[:200],
                details={"email": email[:254], "reason": reason},
            )
        else:
            _record_for_user(
                action="auth.login_failed", actor=actor, user=user, details={"reason": reason}
            )


# --- Two-factor authentication -------------------------------------------------------------------
def twofactor_begin(*, user) -> TOTPDevice:
    """The device being enrolled: its secret stays the same until confirmed, so a reload of the
    enrollment page does not invalidate what the user already scanned. Encrypted at rest."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed_at is not None:
            raise ValidationError("Two-factor authentication is already set up.")
        if device is None:
            device = TOTPDevice(user=user, secret=totp.new_secret())
            device.save(force_insert=True)
    return device


def twofactor_confirm(*, user, code: str, actor: Actor, now: float | None = None) -> list[str]:
    """Confirm enrollment with a first code; returns the ten recovery codes (shown once)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.confirmed_at is not None:
            raise ValidationError("Start the setup again: there is no authenticator being set up.")
        step = totp.matching_step(device.secret, code, now)
        if step is None:
            raise ValidationError(totp.MESSAGES[totp.Check.INVALID])
        device.confirmed_at = timezone.now()
        device.last_used_step = step  # the confirming code is spent like any other
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = recovery.replace_all(user)
        _record_for_user(action="auth.2fa_enrolled", actor=actor, user=user)
    user._state.fields_cache.pop("totp_device", None)  # a cached unconfirmed device is stale now
    return codes


def twofactor_disable(*, user, actor: Actor) -> None:
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        user.recovery_codes.all().delete()
        if deleted:
            _record_for_user(action="auth.2fa_disabled", actor=actor, user=user)
            _notify_admins_2fa_disabled(user=user, actor=actor)
    # The instance may have the deleted device cached; user.has_2fa must see the change.
    user._state.fields_cache.pop("totp_device", None)


def _notify_admins_2fa_disabled(*, user, actor: Actor) -> None:
    """An admin without 2FA is one password away from the account's credentials: tell the team."""
    admin_of = Membership.objects.team_admins().filter(user=user).select_related("account")
    for membership in admin_of:
        security_notify(
            account=membership.account,
            kind="auth.2fa_disabled",
            actor=actor,
            subject_user=user,
            context={"user_email": user.email},
        )


def recovery_codes_regenerate(*, user, actor: Actor) -> list[str]:
    with transaction.atomic():
        if not TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            raise ValidationError("Set up two-factor authentication first.")
        codes = recovery.replace_all(user)
        _record_for_user(action="auth.recovery_codes_regenerated", actor=actor, user=user)
    return codes


# --- Preferences ---------------------------------------------------------------------------------
def user_time_zone_set(*, user, time_zone: str, only_if_unset: bool = False) -> bool:
    """Store the zone every dashboard time and email of ``user`` is shown in.

    ``only_if_unset`` is the browser's one-time detection: it never overrides a choice. A display
    preference, not a credential event: it is not written to the audit trail. Returns whether the
    stored value changed.
    """
    if not timefmt.is_zone(time_zone):
        raise ValidationError(f"“{time_zone}” is not a time zone name such as Europe/Berlin.")
    users = User.objects.filter(pk=user.pk)
    if only_if_unset:
        users = users.filter(time_zone="")
    changed = bool(users.exclude(time_zone=time_zone).update(time_zone=time_zone))
    if changed:
        user.time_zone = time_zone
    return changed


# --- Memberships changed by operators (the admin) ------------------------------------------------
def _record_membership(*, action: str, actor: Actor, membership, details: dict) -> None:
    record(
        action=action,
        actor=actor,
        account=membership.account_id,
        target=membership.user,
        target_label=membership.user.email,
        details=details,
    )


def _access_reduced(membership: Membership, actor: Actor, reason: str) -> None:
    # The same signal as the Team screen's demotion / removal: OAuth grants etc. end with it.
    member_access_reduced.send(
        sender=Membership,
        account_id=membership.account_id,
        user_id=membership.user_id,
        actor=actor,
        reason=reason,
    )


def membership_save(*, membership: Membership, actor: Actor, via: str = "admin") -> None:
    """Add a membership or change its role (an operator in the admin), audited like the Team
    screen: ``team.member_added`` / ``team.role_changed``."""
    with transaction.atomic():
        before = (
            Membership.objects.select_for_update().filter(pk=membership.pk).first()
            if membership.pk
            else None
        )
        if before is not None and before.role == Role.ADMIN and membership.role == Role.MEMBER:
            _access_reduced(before, actor, "role changed to member")
        membership.save()
        email = membership.user.email
        if before is None:
            details = {"email": email, "role": membership.role, "via": via}
            _record_membership(
                action="team.member_added", actor=actor, membership=membership, details=details
            )
        elif before.role != membership.role:
            details = {"email": email, "before": before.role, "after": membership.role, "via": via}
            _record_membership(
                action="team.role_changed", actor=actor, membership=membership, details=details
            )


def membership_delete(*, membership: Membership, actor: Actor, via: str = "admin") -> None:
    """Remove a membership (an operator in the admin), audited as ``team.member_removed``."""
    with transaction.atomic():
        _access_reduced(membership, actor, "removed from the account")
        details = {"email": membership.user.email, "role": membership.role, "via": via}
        _record_membership(
            action="team.member_removed", actor=actor, membership=membership, details=details
        )
        membership.delete()

"""Team workflows: roles, removal, ownership transfer, account policy and billing details.

Each is one transaction with its audit event. The same rules hold in the dashboard and on /v2;
who acts is described by ``Acting`` (the person, or an API key that acts for the account with
admin rights but no person behind it). Sudo confirmation is the dashboard's job, before the call.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from audit.services import Actor, record
from statuspool.accounts.models import TEAM_ADMIN_ROLES, Account, Membership, Plan, Role
from statuspool.accounts.signals import member_access_reduced
from statuspool.notifications.security import security_notify

CHANGEABLE_ROLES = (Role.ADMIN, Role.MEMBER)  # the owner's role moves only by transfer


@dataclass(frozen=True)
class Acting:
    """Who asks for a team change: ``user`` (None for an API key) with ``role`` in the account."""

    actor: Actor
    role: str
    user: object | None = None
    is_api_key: bool = False

    @classmethod
    def person(cls, *, actor: Actor, membership) -> "Acting":
        return cls(actor=actor, role=membership.role, user=membership.user)


def _require_team_admin(acting: Acting) -> None:
    if acting.role not in TEAM_ADMIN_ROLES:
        raise PermissionDenied("Only the owner and admins manage the team.")


def _refuse_self(acting: Acting, membership, what: str) -> None:
    if acting.user is not None and membership.user_id == acting.user.pk:
        raise PermissionDenied(f"You cannot {what} yourself; ask another admin or the owner.")


def touches_admins(*, membership, role: str | None = None) -> bool:
    """Whether a change needs sudo in the dashboard: it involves an admin or the owner."""
    return membership.role in TEAM_ADMIN_ROLES or role in TEAM_ADMIN_ROLES


def _locked(membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "account")
        .get(pk=membership.pk)
    )


def member_change_role(*, membership, role: str, acting: Acting) -> Membership:
    """Make a member an admin or an admin a member. A demotion ends their OAuth grants there."""
    _require_team_admin(acting)
    if role == Role.OWNER:
        raise ValidationError({"role": "Ownership moves only by transfer (Team → Transfer)."})
    if role not in CHANGEABLE_ROLES:
        raise ValidationError({"role": f"Unknown role {role!r}: choose admin or member."})
    _refuse_self(acting, membership, "change the role of")
    with transaction.atomic():
        locked = _locked(membership)
        if locked.role == Role.OWNER:
            raise PermissionDenied(
                "The owner's role changes only when the owner transfers ownership."
            )
        before = locked.role
        if before == role:
            return locked
        if before == Role.ADMIN and role == Role.MEMBER:
            member_access_reduced.send(
                sender=Membership,
                account_id=locked.account_id,
                user_id=locked.user_id,
                actor=acting.actor,
                reason="role changed to member",
            )
        locked.role = role
        locked.save(update_fields=["role"])
        record(
            action="team.role_changed",
            actor=acting.actor,
            account=locked.account_id,
            target=locked.user,
            target_label=locked.user.email,
            details={"email": locked.user.email, "before": before, "after": role},
        )
        security_notify(
            account=locked.account,
            kind="team.role_changed",
            actor=acting.actor,
            subject_user=locked.user,
            context={"member_email": locked.user.email, "role_before": before, "role_after": role},
        )
    return locked


def member_remove(*, membership, acting: Acting) -> None:
    """Take someone out of the account: on their next request nothing of it is theirs.

    The API keys they created stay (they belong to the account); their OAuth grants end.
    """
    _require_team_admin(acting)
    _refuse_self(acting, membership, "remove")
    with transaction.atomic():
        locked = _locked(membership)
        if locked.role == Role.OWNER:
            raise PermissionDenied("The owner cannot be removed; transfer ownership first.")
        member_access_reduced.send(
            sender=Membership,
            account_id=locked.account_id,
            user_id=locked.user_id,
            actor=acting.actor,
            reason="removed from the account",
        )
        record(
            action="team.member_removed",
            actor=acting.actor,
            account=locked.account_id,
            target=locked.user,
            target_label=locked.user.email,
            details={"email": locked.user.email, "role": locked.role},
        )
        locked.delete()
        # After the delete: the admins are told, and the removed person as the one concerned.
        security_notify(
            account=locked.account,
            kind="team.member_removed",
            actor=acting.actor,
            subject_user=locked.user,
            context={"member_email": locked.user.email},
        )


def ownership_transfer(*, account, new_owner, acting: Acting) -> None:
    """The owner hands the account to a member with 2FA and stays on as an admin."""
    if acting.is_api_key or acting.role != Role.OWNER or acting.user is None:
        raise PermissionDenied("Only the owner can transfer ownership.")
    with transaction.atomic():
        rows = {
            m.user_id: m
            for m in Membership.objects.select_for_update(of=("self",))
            .select_related("user", "user__totp_device")
            .filter(account=account, user_id__in=[acting.user.pk, new_owner.pk])
        }
        current, successor = rows.get(acting.user.pk), rows.get(new_owner.pk)
        if current is None or current.role != Role.OWNER:
            raise PermissionDenied("Only the owner can transfer ownership.")
        if successor is None or successor.pk == current.pk:
            raise ValidationError({"new_owner": "Choose another member of this account."})
        if not successor.user.has_2fa:
            raise ValidationError(
                {
                    "new_owner": f"{successor.user.email} must set up two-factor authentication "
                    "before becoming the owner."
                }
            )
        before = successor.role
        # One owner at a time (a unique index): step down first, then promote.
        current.role = Role.ADMIN
        current.save(update_fields=["role"])
        successor.role = Role.OWNER
        successor.save(update_fields=["role"])
        record(
            action="team.ownership_transferred",
            actor=acting.actor,
            account=account,
            target=successor.user,
            target_label=successor.user.email,
            details={
                "previous_owner": current.user.email,
                "new_owner": successor.user.email,
                "new_owner_previous_role": before,
            },
        )
        security_notify(
            account=account,
            kind="team.ownership_transferred",
            actor=acting.actor,
            subject_user=successor.user,
            context={"previous_owner": current.user.email, "new_owner": successor.user.email},
        )


def account_set_require_2fa(*, account, enabled: bool, acting: Acting) -> None:
    if acting.role != Role.OWNER or acting.is_api_key:
        raise PermissionDenied("Only the owner sets the account's 2FA policy.")
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.require_2fa == enabled:
            return
        locked.require_2fa = enabled
        locked.save(update_fields=["require_2fa"])
        record(
            action="account.require_2fa_changed",
            actor=acting.actor,
            account=locked,
            target=locked,
            details={"require_2fa": enabled},
        )
        security_notify(
            account=locked,
            kind="account.require_2fa_changed",
            actor=acting.actor,
            context={"policy": "now required" if enabled else "no longer required"},
        )
    account.require_2fa = enabled


def _clean_email(value: str) -> str:
    email = (value or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"billing_email": "Enter a valid email address."})
    return email


def account_update_billing_email(*, account, billing_email: str, acting: Acting) -> None:
    """Owners (and teams:admin credentials on /v2) set where invoices go."""
    if not acting.is_api_key and acting.role != Role.OWNER:
        raise PermissionDenied("Only the owner changes the billing email.")
    email = _clean_email(billing_email)
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        before = locked.billing_email
        if before == email:
            return
        locked.billing_email = email
        locked.save(update_fields=["billing_email"])
        record(
            action="account.billing_email_changed",
            actor=acting.actor,
            account=locked,
            target=locked,
            details={"before": before, "after": email},
        )
        security_notify(
            account=locked,
            kind="account.billing_email_changed",
            actor=acting.actor,
            context={"before": before, "after": email},
        )
    account.billing_email = email


def account_set_plan(*, account, plan: str, actor: Actor) -> bool:
    """An operator changes the plan (``manage.py setplan``); False when it already was that plan."""
    if plan not in Plan.values:
        raise ValidationError(f"Unknown plan {plan!r}; choose one of: {', '.join(Plan.values)}.")
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        before = locked.plan
        if before == plan:
            return False
        locked.plan = plan
        locked.save(update_fields=["plan"])
        record(
            action="account.plan_changed",
            actor=actor,
            account=locked,
            target=locked,
            details={"before": before, "after": plan},
        )
    account.plan = plan
    return True

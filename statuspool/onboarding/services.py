"""Onboarding: an account, its owner and its default API key, in one transaction.

Sign-up, ``manage.py createaccount`` and the demo data all start here. It lives at the project
level (DESIGN.md "Layers") because it spans ``accounts`` and ``apikeys``, which do not import each
other.
"""

import dataclasses

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apikeys.services import apikey_create_default
from audit.services import Actor, record
from statuspool.accounts.models import Account, Membership, Plan, Role, User
from statuspool.accounts.services import ACCOUNT_NAME_MAX, check_new_password


@dataclasses.dataclass(frozen=True)
class NewAccount:
    """What ``account_create`` will write, every rule already checked; nothing is written yet."""

    name: str
    plan: str
    email: str
    full_name: str
    owner: User | None  # None: the owner's user is created (with the checked password)


def _check_account_fields(*, name: str, plan: str, email: str, given_email: str) -> None:
    if not 1 <= len(name) <= ACCOUNT_NAME_MAX:
        raise ValidationError(
            {"name": f"Give the account a name of 1 to {ACCOUNT_NAME_MAX} characters."}
        )
    if plan not in Plan.values:
        raise ValidationError(
            {"plan": f"Unknown plan {plan!r}; choose one of: {', '.join(Plan.values)}."}
        )
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{given_email!r} is not a valid email address."})


def _check_owner(
    *, email: str, password: str | None, full_name: str, signup: bool, hashed: bool = False
):
    """The existing user who becomes the owner, or None once a new one's password is checked."""
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and signup:
        raise ValidationError({"email": "A user with this email address already exists."})
    if user is None and not hashed:
        if not password:
            raise ValidationError({"password": "A password is required to create the owner."})  # nosec B105  # a field name or label, not a secret
        check_new_password(password, email=email, full_name=full_name)
    return user


def account_check_new(
    *,
    name: str,
    owner_email: str,
    plan: str = Plan.TEAM,
    owner_password: str | None = None,
    owner_full_name: str = "",
    signup: bool = False,
    owner_password_hash: str | None = None,
) -> NewAccount:
    """Every rule of ``account_create`` (same arguments), without writing anything.

    Raises ValidationError naming the field; ``manage.py createaccount --dry-run`` shows the result.
    """
    name = (name or "").strip()
    email = User.objects.normalize_email((owner_email or "").strip()).lower()
    _check_account_fields(name=name, plan=plan, email=email, given_email=owner_email)
    full_name = (owner_full_name or "").strip()
    owner = _check_owner(
        email=email,
        password=owner_password,
        full_name=full_name,
        signup=signup,
        hashed=bool(owner_password_hash),  # checked when it was chosen (confirmed sign-up)
    )
    return NewAccount(name=name, plan=plan, email=email, full_name=full_name, owner=owner)


def account_create(
    *,
    name: str,
    owner_email: str,
    plan: str = Plan.TEAM,
    actor: Actor,
    owner_password: str | None = None,
    owner_full_name: str = "",
    signup: bool = False,
    owner_password_hash: str | None = None,
) -> tuple[Account, User, str]:
    """Create an account with its owner and default API key; returns (account, owner, key).

    The owner's user is created when the email is new (then ``owner_password`` is required and
    must pass the password validators). ``signup=True`` means a person is signing up: the email
    must be new, the actor becomes the new user, and an ``auth.signup`` event is recorded too.
    The default key's plaintext exists only in the return value.
    """
    new = account_check_new(
        name=name,
        owner_email=owner_email,
        plan=plan,
        owner_password=owner_password,
        owner_full_name=owner_full_name,
        signup=signup,
        owner_password_hash=owner_password_hash,
    )
    try:
        with transaction.atomic():
            return _account_create(
                new,
                password=owner_password,
                password_hash=owner_password_hash,
                actor=actor,
                signup=signup,
            )
    except IntegrityError:
        # Two sign-ups with one email at the same moment: the unique index decides.
        raise ValidationError({"email": "A user with this email address already exists."})


def _account_create(new: NewAccount, *, password, actor: Actor, signup: bool, password_hash=None):
    user = new.owner
    if user is None:
        user = User.objects.create_user(new.email, password, full_name=new.full_name)
        if password_hash:
            user.password = password_hash
            user.save(update_fields=["password"])
    if signup:
        actor = dataclasses.replace(actor, user=user, email=user.email)
    account = Account.objects.create(name=new.name, plan=new.plan, billing_email=user.email)
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    if signup:
        record(
            action="auth.signup",
            actor=actor,
            account=account,
            target=user,
            target_label=user.email,
            details={"email": user.email},
        )
    record(
        action="account.created",
        actor=actor,
        account=account,
        target=account,
        details={
            "name": new.name,
            "plan": new.plan,
            "owner": user.email,
            "owner_created": new.owner is None,
        },
    )
    _key, plaintext = apikey_create_default(account=account, actor=actor, created_by=actor.user)
    return account, user, plaintext

"""An Enterprise account's key policy: maximum lifetime and a required IP allowlist for new keys.

The owner sets it (sudo); ``check_new_key`` is what every way of creating a key goes through
(dashboard, replacement, rotation, ``manage.py createapikey``), inside the creating transaction.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyPolicy
from audit.services import Actor, record

MAX_LIFETIME_CHOICES = (7, 30, 60, 90, 365)
TEAM_PLAN_MESSAGE = "Key policies are available on the Enterprise plan."


def policy_of(account) -> ApiKeyPolicy | None:
    """The account's policy if it has one that says anything (Team accounts never do)."""
    if not account.is_enterprise:
        return None
    policy = ApiKeyPolicy.objects.filter(account=account).first()
    return policy if policy is not None and policy.is_set else None


def allowed_expiry(policy: ApiKeyPolicy | None, lifetime: timedelta | None) -> timedelta | None:
    """A rotation's or replacement's lifetime, shortened to what the policy allows."""
    if policy is None or not policy.max_lifetime_days:
        return lifetime
    cap = timedelta(days=policy.max_lifetime_days)
    return cap if lifetime is None else min(lifetime, cap)


def check_new_key(*, account, expires_at, allowed_networks, now=None) -> None:
    """Raise ValidationError (by form field) when a new key would break the account's policy."""
    policy = policy_of(account)
    if policy is None:
        return
    now = now or timezone.now()
    errors = {}
    if policy.max_lifetime_days:
        latest = now + timedelta(days=policy.max_lifetime_days, minutes=1)
        if expires_at is None or expires_at > latest:
            errors["expires"] = (
                f"This account's policy requires keys to expire within "
                f"{policy.max_lifetime_days} days."
            )
    if policy.require_allowlist and not allowed_networks:
        errors["allowed_networks"] = (
            "This account's policy requires an IP allowlist on new keys: enter at least one "
            "CIDR block."
        )
    if errors:
        raise ValidationError(errors)


def out_of_policy(account) -> list[tuple[ApiKey, list[str]]]:
    """Live keys that would not be allowed today, with the reasons (the policy page lists them)."""
    policy = policy_of(account)
    if policy is None:
        return []
    keys = ApiKey.objects.for_account(account).live().order_by("created_at", "id")
    return [(key, problems) for key in keys if (problems := policy.violations(key))]


def apikey_policy_update(
    *, account, max_lifetime_days: int | None, require_allowlist: bool, actor: Actor, user=None
) -> ApiKeyPolicy:
    if not account.is_enterprise:
        raise ValidationError(TEAM_PLAN_MESSAGE)
    if max_lifetime_days is not None and max_lifetime_days not in MAX_LIFETIME_CHOICES:
        raise ValidationError({"max_lifetime_days": "Choose one of the offered lifetimes."})
    with transaction.atomic():
        policy, _ = ApiKeyPolicy.objects.select_for_update().get_or_create(account=account)
        before = {
            "max_lifetime_days": policy.max_lifetime_days,
            "require_allowlist": policy.require_allowlist,
        }
        after = {"max_lifetime_days": max_lifetime_days, "require_allowlist": require_allowlist}
        if before == after:
            return policy
        policy.max_lifetime_days, policy.require_allowlist = max_lifetime_days, require_allowlist
        policy.updated_at, policy.updated_by = timezone.now(), user
        policy.save()
        record(
            action="apikey.policy_changed",
            actor=actor,
            account=account,
            target=account,
            details={"before": before, "after": after},
        )
    return policy

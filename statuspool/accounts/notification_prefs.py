"""Which security notifications a user receives (Settings → Security → Security notifications).

Turning a notification off is itself audited: someone who took over a session and silenced the
emails that would reveal them must leave a trace in every account the user belongs to.
"""

from django.db import transaction

from audit.services import Actor, record
from statuspool.accounts.models import Membership
from statuspool.notifications.security import security_optouts_set


def security_notifications_update(*, user, wanted: set[str], actor: Actor) -> tuple[set, set]:
    """Receive the kinds in ``wanted``, none of the others; returns (turned_on, turned_off)."""
    with transaction.atomic():
        turned_on, turned_off = security_optouts_set(user=user, wanted=wanted)
        if turned_on or turned_off:
            account_ids = Membership.objects.filter(user=user).values_list("account_id", flat=True)
            for account_id in sorted(account_ids) or [None]:
                record(
                    action="auth.security_notifications_changed",
                    actor=actor,
                    account=account_id,
                    target=user,
                    target_label=user.email,
                    details={"turned_on": sorted(turned_on), "turned_off": sorted(turned_off)},
                )
    return turned_on, turned_off

"""Grants end with the membership they were given under.

Authentication already refuses a token whose user is no longer a member (and drops scopes a new
role does not allow). Revoking the grants as well means the tokens stay dead if the person is
invited back later, and Connected Applications stops listing a grant that can no longer work.
"""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from audit.services import Actor
from statuspool.accounts.models import Membership
from statuspool.accounts.signals import member_access_reduced


@receiver(post_delete, sender=Membership, dispatch_uid="oauthapps.revoke_on_membership_delete")
def revoke_grants_of_departed_member(sender, instance, **kwargs):
    from oauthapps.services import authorizations_revoke_for_membership

    with transaction.atomic():
        authorizations_revoke_for_membership(
            user_id=instance.user_id,
            account_id=instance.account_id,
            actor=Actor.system("membership removed"),
        )


@receiver(member_access_reduced, dispatch_uid="oauthapps.revoke_on_access_reduced")
def revoke_grants_of_reduced_member(sender, account_id, user_id, actor, reason, **kwargs):
    """A demotion or removal by a team admin: the grants end now, attributed to that admin."""
    from oauthapps.services import authorizations_revoke_for_membership

    authorizations_revoke_for_membership(
        user_id=user_id, account_id=account_id, actor=actor, reason=reason
    )

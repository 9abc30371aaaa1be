"""Receivers that keep OAuth grants and the token cache in step with changes made elsewhere.

Grants end with the membership they were given under: authentication already refuses a token
whose user is no longer a member (and drops scopes a new role does not allow); revoking the
grants as well means the tokens stay dead if the person is invited back later, and Connected
Applications stops listing a grant that can no longer work.

The cached authentications of access tokens (``oauthapps.authcache``) are invalidated in the
transaction of every change that can make a token unusable or change what it may do, whoever
makes it (our services, DOT's revocation and rotation, cascades, the admin): a deleted token,
a saved membership (role), a deactivated user, a changed plan.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from audit.services import Actor
from oauthapps import authcache
from oauthapps.models import AccessToken
from statuspool.accounts.models import Account, Membership, User
from statuspool.accounts.signals import account_save_reaches_credentials, member_access_reduced


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


# --- The token cache ------------------------------------------------------------------------------
@receiver(post_delete, sender=AccessToken, dispatch_uid="oauthapps.forget_deleted_token")
def forget_deleted_token(sender, instance, **kwargs):
    """Revoking an access token is deleting it (DOT), whichever path deletes it. Django's delete
    sends this inside the delete's own transaction."""
    if instance.expires > timezone.now():  # an expired token is refused by the clock anyway
        authcache.invalidate_token(instance.token_checksum)


@receiver(post_save, sender=AccessToken, dispatch_uid="oauthapps.forget_changed_token")
def forget_changed_token(sender, instance, created, **kwargs):
    if not created:
        authcache.invalidate_token(instance.token_checksum)


@receiver(post_save, sender=Membership, dispatch_uid="oauthapps.forget_tokens_on_role_change")
def forget_tokens_of_changed_member(sender, instance, created, **kwargs):
    """A role change (promotion, demotion, ownership transfer): the scopes a role allows."""
    if not created:
        authcache.invalidate_live_tokens(
            authorization__user_id=instance.user_id, authorization__account_id=instance.account_id
        )


@receiver(post_save, sender=User, dispatch_uid="oauthapps.forget_tokens_of_inactive_user")
def forget_tokens_of_inactive_user(sender, instance, created, **kwargs):
    if not created and not instance.is_active:
        authcache.invalidate_live_tokens(user_id=instance.pk)


@receiver(post_save, sender=Account, dispatch_uid="oauthapps.forget_tokens_on_plan_change")
def forget_tokens_on_plan_change(sender, instance, created, update_fields=None, **kwargs):
    """The plan (rate limits, allowlisting) and the name (GET /v2/credential) are in every
    cached credential of the account."""
    if account_save_reaches_credentials(created, update_fields):
        authcache.invalidate_live_tokens(authorization__account_id=instance.pk)

"""What apikeys does when the accounts app changes something its cached keys carry."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apikeys import authcache
from apikeys.models import ApiKey, Status
from statuspool.accounts.models import Account
from statuspool.accounts.signals import account_save_reaches_credentials


@receiver(post_save, sender=Account, dispatch_uid="apikeys.invalidate_on_account_change")
def _invalidate_keys_of_account(sender, instance, created, update_fields=None, **kwargs):
    """The plan (rate limits) and the name (GET /v2/credential) are in each cached entry: the
    next request of every key reads them again, in every process, once the change commits."""
    if not account_save_reaches_credentials(created, update_fields):
        return
    keys = ApiKey.objects.filter(account_id=instance.pk).exclude(status=Status.REVOKED)
    for public_id in keys.values_list("public_id", flat=True):
        authcache.invalidate_key(public_id)

"""What apikeys does when the accounts app changes something its cached keys carry."""

from django.dispatch import receiver

from apikeys import authcache
from apikeys.models import ApiKey, Status
from statuspool.accounts.signals import account_plan_changed


@receiver(account_plan_changed, dispatch_uid="apikeys.invalidate_on_plan_change")
def _invalidate_keys_of_account(sender, account_id, **kwargs):
    # The plan (rate limits) is in each cached entry: the next request of every key reads it
    # again, in every process, once the change commits (revoked keys are never cached).
    public_ids = ApiKey.objects.filter(account_id=account_id).exclude(status=Status.REVOKED)
    for public_id in public_ids.values_list("public_id", flat=True):
        authcache.invalidate_key(public_id)

"""Command-line arguments every app's management commands share."""

from django.core.management.base import CommandError

from statuspool.accounts.models import Account


def account_from(value: str) -> Account:
    """``--account``/ACCOUNT: an account id or its exact name, or a CommandError saying why not."""
    try:
        return Account.objects.by_id_or_name(value)
    except (Account.DoesNotExist, Account.MultipleObjectsReturned) as error:
        raise CommandError(str(error))

"""Argument helpers shared by the audit commands."""

from django.core.management.base import CommandError

from audit.filters import parse_moment


def account_from(value: str):
    """An account by id or exact name (--account 3, --account "Acme Monitoring")."""
    from statuspool.accounts.models import Account

    accounts = Account.objects.filter(pk=int(value)) if value.isdigit() else None
    if not accounts:
        accounts = Account.objects.filter(name=value)
    found = list(accounts[:2])
    if not found:
        raise CommandError(f"No account with id or name {value!r}.")
    if len(found) > 1:
        raise CommandError(f"Several accounts are named {value!r}; pass the account id.")
    return found[0]


def moment_from(value: str | None, *, end_of_day: bool = False):
    try:
        return parse_moment(value or "", end_of_day=end_of_day)
    except ValueError as error:
        raise CommandError(str(error))

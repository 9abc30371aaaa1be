"""Argument helpers shared by the audit commands (accounts: statuspool.accounts.management)."""

from django.core.management.base import CommandError

from audit.filters import parse_moment


def moment_from(value: str | None, *, end_of_day: bool = False):
    try:
        return parse_moment(value or "", end_of_day=end_of_day)
    except ValueError as error:
        raise CommandError(str(error))

"""Signals the accounts app sends so higher layers can react without accounts importing them.

``member_access_reduced`` is sent inside the transaction of a removal or a demotion, before the
membership row changes: receivers (the OAuth grants of that person in that account) do their part
in the same transaction, attributed to the same actor.
"""

from django.dispatch import Signal

# kwargs: account_id, user_id, actor (audit Actor), reason ("removed" | "demoted")
member_access_reduced = Signal()

# What every cached credential (API key, OAuth token) carries of its account: the plan (rate
# limits, allowlisting) and the name (GET /v2/credential). A post_save of Account that may have
# changed one of them must invalidate the account's cached credentials.
ACCOUNT_FIELDS_IN_CREDENTIALS = frozenset({"plan", "name"})


def account_save_reaches_credentials(created: bool, update_fields) -> bool:
    """For a post_save receiver of Account: did this save change what credentials cache?"""
    if created:
        return False
    return update_fields is None or bool(ACCOUNT_FIELDS_IN_CREDENTIALS & set(update_fields))

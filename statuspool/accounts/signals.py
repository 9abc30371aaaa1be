"""Signals the accounts app sends so higher layers can react without accounts importing them.

``member_access_reduced`` is sent inside the transaction of a removal or a demotion, before the
membership row changes: receivers (the OAuth grants of that person in that account) do their part
in the same transaction, attributed to the same actor.
"""

from django.dispatch import Signal

# kwargs: account_id, user_id, actor (audit Actor), reason ("removed" | "demoted")
member_access_reduced = Signal()

"""What each credential kind does with its buffered usage: the hook of DESIGN.md's layer 5.

``usage`` sits below the credential apps, so it cannot know an ApiKey or an OAuth grant. Each kind
registers a writer in ``settings.USAGE_WRITERS`` (credential kind → dotted path), the way
``API_CREDENTIAL_AUTHENTICATORS`` registers its authenticator:

* ``prefix`` names the kind's records in the buffer (``key:<id>``, ``oauth:<authorization id>``);
* ``result_name`` names its count in what ``usage_flush`` returns (``{"keys": 3, ...}``);
* ``member_id(credential)`` is the row the request's usage belongs to (None: not tracked);
* ``wants_rate_alerts(credential)`` says whether an 80 % crossing is worth buffering;
* ``write(records)`` applies the records (``{row id: UsageRecord}``) in its own transactions,
  rows locked, and returns how many alerts it queued. It may be called again with the same
  records after a failure, so it must keep the newest time and deduplicate its alerts.
"""

from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


class UsageWriter(Protocol):
    prefix: str
    result_name: str

    def member_id(self, credential) -> int | None: ...

    def wants_rate_alerts(self, credential) -> bool: ...

    def write(self, records: dict) -> int: ...


@cache
def writers() -> dict[str, UsageWriter]:
    """Credential kind → its writer, built once from settings.USAGE_WRITERS."""
    return {kind: import_string(path)() for kind, path in settings.USAGE_WRITERS.items()}


def writer_for_prefix(prefix: str) -> UsageWriter | None:
    for writer in writers().values():
        if writer.prefix == prefix:
            return writer
    return None


@receiver(setting_changed)
def _forget_writers(setting, **kwargs):
    if setting == "USAGE_WRITERS":
        writers.cache_clear()

"""What an authenticator makes of a cached entry, made once per entry a process sees.

A warm request gets its credential's entry back from the script as JSON. Decoding it and building
the ``Credential`` (scopes as a frozenset, dates parsed) cost as much as the rest of the
authenticator (issue 12), for a result that depends on nothing but that JSON. So the result is
kept per payload: the same bytes always make the same immutable object.

Nothing about believing the entry changes: the script still checks the generation, the trust
marker and the secret on every request, so a revoked credential's payload is never returned to
be looked up here. Checks that depend on the clock (expiry) stay the caller's, every request.
"""

from collections.abc import Callable

from statuspool.credcache.script import Lookup

# Entries a process keeps: one per credential in use (its payload changes when the credential
# does), each a few hundred bytes. Past this the whole map is dropped and rebuilt as requests
# come, which bounds the memory whatever the number of credentials.
MAX_PREPARED = 4096


class Prepared:
    def __init__(self, prepare: Callable[[dict], object], size: int = MAX_PREPARED):
        self._prepare = prepare
        self._size = size
        self._made: dict[bytes, object] = {}

    def __call__(self, found: Lookup):
        """``prepare(found.entry)``, made once per payload; a dict entry is prepared each time."""
        payload = found.payload
        if payload is None:
            return self._prepare(found.entry)
        try:
            return self._made[payload]
        except KeyError:
            pass
        made = self._prepare(found.entry)
        if len(self._made) >= self._size:
            self._made = {}
        self._made[payload] = made
        return made

    def __len__(self) -> int:
        return len(self._made)

"""A credential lookup sent before authentication asks for it, its reply read when it does.

A warm /v2 request's one blocking round trip is the credential cache's script (``script``). Sent
when authentication runs, the worker waits for Redis with nothing to do; on a loaded machine that
wait, and the CPU left idle while both sync workers of a pair wait, was a tenth of an API-key
request's cost (issue 12). So the /v2 pipeline sends the same script as soon as the request's
headers and path say what authentication will ask (``statuspool.api.early_lookup``), and the
authenticator takes the reply instead of sending the script again.

The caller decides when a prefetch answers its lookup (the pipeline: the same credential, view
and method, ``statuspool.api.early_lookup``) and takes it with ``lookup()``. A prefetch nobody
takes is ``settle``d: its reply is read and, if the script counted the request, the count is taken
back from its window. That happens when authentication asks for another lookup (before it makes
its own, so the request counts once) and when the request ends without authentication (refused
before it: a credential in the body, an unacceptable ``Accept``…), so requests refused before
authentication stay uncounted, as they always were; for the few milliseconds such a request
lasts, its window shows one more.
"""

from typing import NamedTuple

from statuspool.credcache.script import HIT, Counting, Lookup, SecretCheck
from statuspool.sharedcache import Script, SentScript, guard

# Take back one count from a window, unless the window has expired meanwhile (a DECR would then
# create a counter with no expiry).
_UNCOUNT = Script(
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return false
"""
)


class Prefetch:
    """One ``GenerationCache.lookup_and_count`` sent ahead (``GenerationCache.prefetch``)."""

    __slots__ = ("owner", "sent", "taken")

    def __init__(self, owner, sent: SentScript):
        self.owner = owner  # the GenerationCache it looks up in
        self.sent = sent
        self.taken = False

    def lookup(self) -> Lookup:
        """What ``owner.lookup_and_count`` would have returned for the lookup this was sent for;
        once (``taken``)."""
        self.taken = True
        try:
            reply = self.sent.result()
        except Exception as exc:  # redis-py, socket errors: the caller reads the database
            guard.failed(exc, f"{self.owner.label} cache")
            return Lookup()
        return self.owner.interpret(reply)

    def settle(self) -> None:
        """The request is over: read a reply nobody took, and uncount what it counted."""
        if self.taken:
            return
        self.taken = True
        try:
            reply = self.sent.result()
            if int(reply[0]) == HIT and reply[2] is not None:
                _UNCOUNT(self.sent.client, [reply[4]], [])
        except Exception as exc:  # redis-py, socket errors: as any other shared-cache failure
            guard.failed(exc, "a credential lookup nobody used")


class CacheLookup(NamedTuple):
    """What an authenticator asks its ``GenerationCache`` for one credential: run now, or sent
    ahead and taken later (``statuspool.api.early_lookup``)."""

    cache: object  # the GenerationCache
    ident: str
    secret: SecretCheck | None = None

    def run(self, counting: Counting | None) -> Lookup:
        return self.cache.lookup_and_count(self.ident, secret=self.secret, counting=counting)

    def send(self, counting: Counting | None) -> Prefetch | None:
        return self.cache.prefetch(self.ident, secret=self.secret, counting=counting)

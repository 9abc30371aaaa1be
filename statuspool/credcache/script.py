"""The warm path of a /v2 request as one Redis script: believe the cached credential, check the
presented secret against it, and count the request in its rate-limit window.

Why one script: each blocking round trip to Redis costs a sync worker as much as the rest of the
pipeline (issue 12), and the three steps need nothing from Python in between once the entry keeps,
beside its JSON payload, the few plain fields the script reads:

====  ==========================================================================================
g     the generation the entry was read under (believed only while it is the current one)
v     the payload, JSON (what the authenticator needs to build its ``Credential``)
p, d  pepper id and HMAC digest the presented secret must match (API keys; a token's cache key
      is its own digest, so possession is already proven by finding it)
r, w  the rate-limit identity to count, or "" when the credential must pass another check before
      it is counted (a DPoP proof): then the script only reads and the throttle counts; and the
      second past each minute at which that identity's windows end
n     the IP allowlist as ranges of 5 integers (version, then the address as four 32-bit words):
      a request from outside it is not counted (the allowlist refuses it: a leaked key used from
      elsewhere must not use up its owner's limit). ``statuspool.api.network`` stays the one that
      refuses; this only decides whether to count.
s     the scopes, space-separated with a space at each end: a request for a scope the credential
      lacks is not counted either (it is refused before the throttle, as it always was)
====  ==========================================================================================

The counter is the throttle's own (``statuspool.api.throttling``): ``<prefix><identity>:<window>``
with the window ending ``crc32(identity) % 60`` seconds past a whole minute, so both ways of
counting add to the same number.

The digest comparison happens inside Redis on two HMAC digests: what its timing could reveal is
a prefix of an HMAC under a server-side pepper, which does not help forge a key.
"""

import ipaddress
import json
import zlib
from dataclasses import dataclass
from functools import cached_property, lru_cache

from statuspool.sharedcache import Script

UNTRUSTED, MISS, BAD_SECRET, HIT = 0, 1, 2, 3
# The rate limits' fixed window: the one definition (statuspool.api.throttling and the script).
WINDOW_SECONDS = 60

LOOKUP_AND_COUNT = Script(
    """
-- KEYS: entry, generation, trust marker
-- ARGV: pepper id, digest ('' = no check), counter prefix ('' = count nothing), increment, ttl,
--       now (epoch seconds), client address as JSON [version, w1, w2, w3, w4] ('' = unknown),
--       a fresh generation, how long generations live, the scope the request needs ('' = any)
-- Returns {UNTRUSTED, generation}, {MISS, generation}, {BAD_SECRET} or {HIT, payload, and when
-- counted: the count, the window's end, the counter's key (to take the count back)}
local generation = redis.call('GET', KEYS[2])
if not generation then
  -- The credential's first generation (or its last was evicted): read before the database, as
  -- any generation must be, so an invalidation committed after that read replaces it.
  generation = ARGV[8]
  redis.call('SET', KEYS[2], generation, 'EX', ARGV[9])
end
if redis.call('EXISTS', KEYS[3]) == 0 then return {0, generation} end
local e = redis.call('HMGET', KEYS[1], 'g', 'v', 'p', 'd', 'r', 'n', 'w', 's')
if not generation or not e[1] or e[1] ~= generation then return {1, generation} end
if ARGV[2] ~= '' then
  if e[3] ~= ARGV[1] then return {1, generation} end  -- stored under another pepper: reload
  if e[4] ~= ARGV[2] then return {2} end
end
if ARGV[3] == '' or not e[5] or e[5] == '' then return {3, e[2], false, false} end
if ARGV[10] ~= '' and not string.find(e[8] or '', ' ' .. ARGV[10] .. ' ', 1, true) then
  return {3, e[2], false, false}  -- refused for its scope: not counted
end
if e[6] and e[6] ~= '' then
  if ARGV[7] == '' then return {3, e[2], false, false} end
  local ip = cjson.decode(ARGV[7])
  local inside = false
  for _, range in ipairs(cjson.decode(e[6])) do
    local above, below = true, true
    for i = 1, 5 do  -- lexicographic: ip >= start
      if ip[i] ~= range[i] then above = ip[i] > range[i]; break end
    end
    for i = 1, 5 do  -- ip <= end
      if ip[i] ~= range[5 + i] then below = ip[i] < range[5 + i]; break end
    end
    if above and below then inside = true; break end
  end
  if not inside then return {3, e[2], false, false} end
end
local now, period = tonumber(ARGV[6]), __PERIOD__
local identity = e[5]
local edge = tonumber(e[7] or '0')
local window = now - (now % period) + edge
if window < now then window = window + period end
local counter = ARGV[3] .. identity .. ':' .. window
redis.call('SET', counter, 0, 'NX', 'EX', ARGV[5])
return {3, e[2], redis.call('INCRBY', counter, ARGV[4]), window, counter}
""".replace("__PERIOD__", str(WINDOW_SECONDS))
)


def window_edge(identity: str) -> int:
    """Seconds past the minute at which ``identity``'s windows end (django-ratelimit's jitter)."""
    return zlib.crc32(identity.encode()) % WINDOW_SECONDS


def window_end(identity: str, now: int) -> int:
    """The epoch second the window holding ``now`` ends (django-ratelimit's ``_get_window``)."""
    window = now - now % WINDOW_SECONDS + window_edge(identity)
    return window + WINDOW_SECONDS if window < now else window


def _words(address) -> list[int]:
    value = int(address)
    return [address.version] + [(value >> shift) & 0xFFFFFFFF for shift in (96, 64, 32, 0)]


@lru_cache(maxsize=4096)  # parsed once per address a process sees (clients come back)
def address_words(address: str | None) -> str:
    """The client address as the script compares it (JSON), IPv4-mapped IPv6 as IPv4."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return "[" + ",".join(str(word) for word in _words(ip)) + "]"


def network_ranges(cidrs) -> list[list[int]]:
    """Each CIDR as [start words…, end words…]; an unparsable one is left out (never widens)."""
    ranges = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        ranges.append(_words(network.network_address) + _words(network.broadcast_address))
    return ranges


@dataclass(frozen=True)
class SecretCheck:
    """The presented secret's digest under a pepper; the entry must hold the same."""

    pepper_id: str
    digest: str

    def arguments(self) -> tuple[str, str]:
        return self.pepper_id, self.digest


@dataclass(frozen=True)
class Counting:
    """Count this request in the window of whatever identity the entry names."""

    prefix: str  # unprefixed cache key before the identity, e.g. "rl:v2:read:"
    now: int
    address: str | None
    scope: str = ""  # the scope the request needs; "" when any credential may make it
    increment: int = 1
    ttl: int = WINDOW_SECONDS + 1

    def arguments(self, make_key) -> tuple:
        return (
            make_key(self.prefix),
            self.increment,
            self.ttl,
            self.now,
            address_words(self.address),
        )


@dataclass(frozen=True)
class Lookup:
    """What a lookup found: a believed entry (and its ``count``/``window`` when counted), a
    ``generation`` to store a database read under, or neither (cache unavailable).

    The believed entry is ``payload``, its JSON as the script returned it (Redis), or ``cached``,
    the dict a cache that keeps dicts returned; ``entry`` is either one as a dict.
    """

    cached: dict | None = None
    payload: bytes | None = None
    generation: object = None
    count: int | None = None
    window: int | None = None
    wrong_secret: bool = False

    @property
    def believed(self) -> bool:
        return self.payload is not None or self.cached is not None

    @cached_property
    def entry(self) -> dict | None:
        if self.payload is not None:
            return json.loads(self.payload)
        return self.cached

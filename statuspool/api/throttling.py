"""Step 4 of the /v2 pipeline: rate limits per credential, by plan, in fixed 60-second windows.

Counters live in the shared cache (Redis in production) through django-ratelimit's core
``get_usage``, so every server process counts against the same numbers. Reads (GET, HEAD,
OPTIONS) and writes have separate buckets with ``settings.API_RATE_LIMITS[plan]``. An API key
counts as ``key:<id>``, an OAuth token as ``oauth:<application id>:<account id>`` (one bucket per application and account).

django-ratelimit's windows are fixed but jittered per identity: a window ends at a whole minute
plus ``crc32(identity) % 60`` seconds, so the limits of many keys do not all reset at once. The
reset time it reports is what ``X-RateLimit-Reset`` carries.

On Redis a warm request is counted by the credential cache's script, in the same round trip as
its authentication (``statuspool.credcache.script``); the authenticator leaves the count on the
request (``remember_count``) and the throttle uses it. Otherwise (a cold cache, a credential that
must pass another check first) the throttle counts the same counter, ``rl:<group>:<identity>:
<window>``, with one Lua call (``sharedcache.count_in_window``). Other caches (the embedded
default's file cache) go through django-ratelimit's ``get_usage`` itself.

When the shared cache fails (Redis down or slow), requests are still served: counts fall back to
this process's memory for a few seconds at a time and one error is logged per interval, never one
per request (``sharedcache.guard``, which also protects authentication, usage and the request log).
"""

import ipaddress
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.dispatch import receiver
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from statuspool.api.credentials import Credential
from statuspool.api.errors import ApiError
from statuspool.api.permissions import UNDECLARED, required_scope
from statuspool.api.signals import api_request_finished
from statuspool.client_ip import request_ip
from statuspool.credcache.script import WINDOW_SECONDS, Counting, window_edge, window_end
from statuspool.sharedcache import count_in_window, guard, redis_of

# WINDOW_SECONDS (limits, headers, GET /v2/credential and /v2/billing) is defined once, beside the
# credential script that counts in it (statuspool.credcache.script).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATE_ATTR = "rate_limit_state"  # set on the Django HttpRequest, read by headers and usage
COUNTED_ATTR = "rate_limit_counted"  # (group, identity, count, window) from the authenticator


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    count: int
    reset: int  # epoch seconds at which the window ends
    resource: str  # "read" | "write"
    shared: bool = True  # False when counted by this process's fallback counters

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Resource": self.resource,
        }


class _LocalCounters:
    """Fixed-window counters in this process's memory: the fallback while the cache is down."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = {}

    def hit(self, group: str, identity: str, increment: bool = True) -> tuple[int, int]:
        now = int(time.time())
        reset = now - now % WINDOW_SECONDS + WINDOW_SECONDS
        slot = (group, identity, reset)
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[2] > now}
            count = self._counts.get(slot, 0) + (1 if increment else 0)
            self._counts[slot] = count
        return count, reset

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_counters = _LocalCounters()


def resource_of(method: str) -> str:
    return "read" if method.upper() in READ_METHODS else "write"


def limit_for(plan: str, resource: str) -> int:
    limits = settings.API_RATE_LIMITS
    return (limits.get(plan) or limits["team"])[resource]


def _window_end(identity: str, time_left: int) -> int:
    """The epoch second the counted window ends, from the ``time_left`` get_usage reported.

    ``now + time_left`` may be a second off when the clock ticked since get_usage read it, so it
    is snapped to the identity's window edge (django-ratelimit ends windows at
    ``crc32(identity) % 60`` seconds past a whole minute): every response of one window then
    carries the same X-RateLimit-Reset.
    """
    approximate = int(time.time()) + time_left
    edge = window_edge(identity)
    offset = (approximate - edge) % WINDOW_SECONDS
    return (
        approximate - offset
        if offset < WINDOW_SECONDS // 2
        else approximate + (WINDOW_SECONDS - offset)
    )


def _shared_count(request, group: str, identity: str, limit: int, increment: bool):
    """(count, reset) from the shared counters; None when rate limiting is switched off.

    Raises what the cache raises. A reset of 0 means the count was lost (see ``_count``).
    """
    backend = caches[settings.RATELIMIT_USE_CACHE]
    redis = redis_of(backend)
    if redis is None:  # not Redis: django-ratelimit's get_usage, as it is
        usage = get_usage(
            request,
            group=group,
            key=lambda _group, _request: identity,
            rate=(limit, WINDOW_SECONDS),
            increment=increment,
        )
        if usage is None:
            return None
        # A zero limit means the counter vanished between add and incr (expiry race).
        if not usage["limit"]:
            return usage["count"], 0
        return usage["count"], _window_end(identity, usage["time_left"])
    if not settings.RATELIMIT_ENABLE:
        return None
    now = int(time.time())
    window = window_end(identity, now)
    key = f"{counter_prefix(group)}{identity}:{window}"
    return count_in_window(redis, key, 1 if increment else 0, WINDOW_SECONDS + 1), window


def counter_prefix(group: str) -> str:
    """The shared counters' cache key before the identity (the script's too)."""
    return f"rl:{group}:"


# No credential holds it: a method the view does not declare (405) is not counted.
_NO_SUCH_SCOPE = "\x00"


def _scope_needed(view, method: str) -> str:
    """The scope ``view`` needs for ``method`` ("" for any credential): a request for one the
    credential lacks is refused before the throttle and must not be counted."""
    if view is None:
        return ""
    scope = required_scope(view, method)
    if scope is UNDECLARED:
        return _NO_SUCH_SCOPE
    return scope or ""


def counting_for(request, view=None) -> Counting | None:
    """What the credential cache's script needs to count ``request`` while it authenticates it;
    None when rate limiting is off or the shared counters are known to be down. ``view``: the
    view (or view class) that serves it, by default the one DRF is running."""
    if not settings.RATELIMIT_ENABLE or not guard.available():
        return None
    if view is None:
        view = (getattr(request, "parser_context", None) or {}).get("view")
    group = _group_of(request)
    return Counting(
        prefix=counter_prefix(group),
        now=int(time.time()),
        address=request_ip(request),
        scope=_scope_needed(view, request.method),
    )


def _group_of(request) -> str:
    return f"v2:{resource_of(request.method)}"


def remember_count(request, identity: str, count: int, window: int) -> None:
    """The count the authenticator's round trip made, for the throttle to use instead of counting."""
    counted = (_group_of(request), identity, count, window)
    setattr(getattr(request, "_request", request), COUNTED_ATTR, counted)


def _count(request, group: str, identity: str, limit: int, increment: bool):
    """(count, reset, shared) from the shared counters, or this process's when they fail."""
    counted = getattr(getattr(request, "_request", request), COUNTED_ATTR, None)
    if counted is not None and counted[:2] == (group, identity):
        # Counted by the authentication's round trip: once, whatever asks for it afterwards.
        return counted[2], counted[3], True
    if guard.available():
        try:
            counted = _shared_count(request, group, identity, limit, increment)
        except Exception as exc:  # redis-py, socket and backend errors alike: never a 500
            guard.failed(exc, "rate limiting")
        else:
            if counted is None:  # RATELIMIT_ENABLE = False
                return None
            count, reset = counted
            if reset:  # else count this one request locally rather than refusing it
                return count, reset, True
    count, reset = local_counters.hit(group, identity, increment)
    return count, reset, False


def consume(request, credential: Credential, *, increment: bool = True) -> RateLimitState | None:
    resource = resource_of(request.method)
    limit = limit_for(credential.plan, resource)
    identity = credential.rate_limit_identity or f"{credential.kind}:{credential.id}"
    counted = _count(request, f"v2:{resource}", identity, limit, increment)
    if counted is None:
        return None
    count, reset, shared = counted
    return RateLimitState(limit=limit, count=count, reset=reset, resource=resource, shared=shared)


def state_of(request) -> RateLimitState | None:
    return getattr(getattr(request, "_request", request), STATE_ATTR, None)


class PlanRateThrottle(BaseThrottle):
    """DRF throttle: counts the request, refuses it with 429 past the plan's limit."""

    def allow_request(self, request, view):
        credential = request.auth
        if not isinstance(credential, Credential):
            return True  # the permission classes have refused it already
        state = consume(request, credential)
        if state is None:
            return True
        http_request = request._request
        setattr(http_request, STATE_ATTR, state)
        # The base view copies these onto the response, errors (the 429 below) included.
        if getattr(http_request, "api_response_headers", None) is None:
            http_request.api_response_headers = {}
        http_request.api_response_headers.update(state.headers())
        if state.exceeded:
            raise ApiError(
                "rate_limited",
                f"This credential may make {state.limit} {state.resource} requests per minute "
                f"on its plan. Retry in {state.retry_after} seconds.",
                429,
                headers={"Retry-After": str(state.retry_after)},
            )
        return True


def add_rate_limit_headers(request, response):
    """X-RateLimit-* on a /v2 response made with a valid credential, if it has none yet.

    When the throttle did not run (the request was refused before it, e.g. 403 ``ip_not_allowed``
    or ``insufficient_scope``) the counter is read, not counted.
    """
    if "X-RateLimit-Limit" in response:
        return response
    state = state_of(request)
    if state is None:
        # ``_auth`` rather than ``.auth``: reading ``.auth`` would authenticate now, and this
        # runs for responses whose authentication failed or never happened.
        credential = getattr(request, "_auth", None)
        if isinstance(credential, Credential):
            state = consume(request, credential, increment=False)
    if state is not None:
        for name, value in state.headers().items():
            response[name] = value
    return response


@receiver(api_request_finished, dispatch_uid="statuspool.api.throttling.headers")
def _headers_on_early_refusals(sender, request, response, **kwargs):
    # The base view sends this signal for every response made with a valid credential, before
    # returning it: the one place that also sees the responses the throttle never reached.
    add_rate_limit_headers(request, response)


# --- Failed authentication, per client address ----------------------------------------------------


def _client_bucket(request) -> str:
    """Whose failures count together: the address, or its /64 for IPv6 (one host's usual share)."""
    address = request_ip(request) or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return address


class _Suspects:
    """Client addresses this process saw fail to authenticate within the last window.

    Only those are checked against the shared block list: asking the cache on every request
    would cost every legitimate client a round trip. Failures are counted in the shared cache, so
    an address past the limit is refused by a process as soon as that process has seen one of its
    failures; an attacker spreading guesses over N processes gains at most N more lookups.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}
        self._latest = 0.0  # when the last entry lapses: until then there may be suspects

    def add(self, bucket: str) -> None:
        now = time.time()
        with self._lock:
            if len(self._until) > 10_000:
                self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[bucket] = self._latest = now + WINDOW_SECONDS

    def __bool__(self) -> bool:
        return self._latest > time.time()

    def __contains__(self, bucket: str) -> bool:
        return self._until.get(bucket, 0.0) > time.time()

    def clear(self) -> None:
        with self._lock:
            self._until.clear()
            self._latest = 0.0


suspects = _Suspects()


def _block_key(bucket: str) -> str:
    return f"v2-auth-blocked:{bucket}"


def _refuse(retry_after: int):
    retry_after = max(1, retry_after)  # in a window's last second: the next one
    raise ApiError(
        "rate_limited",
        "Too many failed authentication attempts from your address. "
        f"Retry in {retry_after} seconds.",
        429,
        headers={"Retry-After": str(retry_after)},
    )


def refuse_blocked_client(request) -> None:
    """Answer 429 before any credential lookup once an address has failed too often."""
    if not suspects:  # no failure seen lately: nothing to look up, not even the address
        return
    bucket = _client_bucket(request)
    if bucket not in suspects:
        return
    now = int(time.time())
    if guard.available():
        try:
            blocked_until = cache.get(_block_key(bucket))
        except Exception as exc:
            guard.failed(exc, "failed-authentication limiting")
        else:
            # A window ends at the end of its last second (``window_end``): blocked through it.
            if blocked_until and blocked_until >= now:
                _refuse(blocked_until - now)
            return
    count, reset = local_counters.hit("v2:auth-failures", bucket, increment=False)
    if count >= settings.API_AUTH_FAILURES_PER_MINUTE:
        _refuse(reset - now)


def record_failed_authentication(request) -> None:
    bucket = _client_bucket(request)
    suspects.add(bucket)
    limit = settings.API_AUTH_FAILURES_PER_MINUTE
    counted = _count(request, "v2:auth-failures", bucket, limit, increment=True)
    if counted is None:
        return
    count, reset, shared = counted
    if shared and count >= limit:
        try:
            cache.set(_block_key(bucket), reset, max(1, reset - int(time.time())) + 1)
        except Exception as exc:
            guard.failed(exc, "failed-authentication limiting")

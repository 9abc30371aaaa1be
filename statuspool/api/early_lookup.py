"""The credential lookup of a /v2 request, sent before the rest of the pipeline runs (issue 12).

A warm request's one blocking round trip to Redis is its credential lookup (authentication,
digest check and rate-limit count in one script: ``statuspool.credcache.script``). Everything
authentication needs to send it is in the request's headers and path: the credential, the client
address, the method and — through the view the path resolves to — the scope. So this middleware
sends it as soon as the request comes in (``Prefetch``), the middleware chain, URL resolution and
DRF's request setup run while Redis works, and the authenticator takes the reply instead of
sending the same script again. Under load a worker then rarely sleeps waiting for Redis; on the
2-core VMs of ``make bench`` that was a tenth more API-key requests per second.

It sends exactly what the credential's authenticator would: each authenticator of
``settings.API_CREDENTIAL_AUTHENTICATORS`` whose lookup can be sent ahead names, as its
``lookup_of`` attribute, the function that makes a credential's ``CacheLookup`` (None for a
malformed one), and looks up through ``look_up``, which uses the reply sent ahead only for that
very lookup (``prefetch_for``). Nothing is sent when it cannot know what authentication will ask, or when
the request will be refused before authentication in a way it can see cheaply:

* not a /v2 JSON path, no ``Authorization: Bearer|DPoP`` value, a credential kind without a
  ``prefetch``, or a malformed credential (refused without a lookup);
* a path that resolves to no ``ApiView`` (404, the bench's peers);
* a credential in the URL (400 ``credential_in_url`` before authentication);
* the shared cache known to be down (``sharedcache.guard``): authentication reads the database.

A request refused before authentication in a way it cannot see (a credential in the body, an
unacceptable ``Accept``…) is uncounted when it ends (``Prefetch.settle``).
"""

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.urls import Resolver404, get_resolver

from statuspool.api.authentication import authenticator_for, split_authorization
from statuspool.api.leaks import url_carries_credential
from statuspool.api.middleware import is_api_json
from statuspool.api.throttling import counting_for
from statuspool.api.views import ApiView
from statuspool.credcache.prefetch import CacheLookup, Prefetch
from statuspool.credcache.script import Lookup

_ATTRIBUTE = "_credential_prefetch"


class _Sent(NamedTuple):
    """A lookup sent for a request, and what it was sent for."""

    value: str  # the credential
    view: type  # the view class the path resolved to
    method: str
    prefetch: Prefetch


def prefetch_for(request, raw: str) -> Prefetch | None:
    """The lookup sent ahead for ``request`` (DRF's, while a view authenticates it) if it is the
    one authenticating ``raw`` makes now: the same credential, view and method make the same
    script call (client address and scope follow from them). None otherwise, or once taken; a
    lookup sent for anything else is settled first, so the caller's own lookup counts alone."""
    sent = getattr(getattr(request, "_request", request), _ATTRIBUTE, None)
    if sent is None or sent.prefetch.taken:
        return None
    running = (getattr(request, "parser_context", None) or {}).get("view")
    if sent.value != raw or type(running) is not sent.view or request.method != sent.method:
        sent.prefetch.settle()
        return None
    return sent.prefetch


def look_up(request, raw: str, lookup_of: Callable[[str], CacheLookup | None]) -> Lookup | None:
    """The authenticator's lookup of ``raw`` for ``request``: the reply of the one sent ahead
    when it answers this one, else ``lookup_of(raw)`` run now; None for a malformed credential."""
    prefetch = prefetch_for(request, raw)
    if prefetch is not None:
        return prefetch.lookup()
    lookup = lookup_of(raw)
    return None if lookup is None else lookup.run(counting_for(request))


@lru_cache(maxsize=1024)
def _api_view(urlconf: str, path: str) -> type[ApiView] | None:
    """The ``ApiView`` class that serves ``path``, or None. Resolving depends only on the URLconf
    and the path (no middleware of ours sets ``request.urlconf``), so it is done once per path a
    process sees, of the last 1024."""
    try:
        match = get_resolver(urlconf).resolve(path)
    except Resolver404:
        return None
    view = getattr(match.func, "cls", None)  # DRF's as_view() keeps the class there
    return view if isinstance(view, type) and issubclass(view, ApiView) else None


def _send_lookup(request) -> _Sent | None:
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header or not is_api_json(request.path_info):
        return None
    scheme, value = split_authorization(header)
    if scheme not in ("bearer", "dpop") or not value:
        return None
    lookup_of = getattr(authenticator_for(value), "lookup_of", None)
    if lookup_of is None:
        return None
    view = _api_view(settings.ROOT_URLCONF, request.path_info)
    if view is None:
        return None
    if request.META.get("QUERY_STRING") and url_carries_credential(request):
        return None
    lookup = lookup_of(value)
    sent = None if lookup is None else lookup.send(counting_for(request, view))
    return None if sent is None else _Sent(value, view, request.method, sent)


class EarlyCredentialLookupMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = _send_lookup(request)
        if sent is None:
            return self.get_response(request)
        setattr(request, _ATTRIBUTE, sent)
        try:
            return self.get_response(request)
        finally:
            sent.prefetch.settle()

"""The base classes every /v2 view uses: the request pipeline of DESIGN.md in one place.

0. credentials outside the Authorization header are refused (``statuspool.api.leaks``);
1. authentication, 2. network policy and 3. scope (permission classes), 4. rate limit (throttle
   classes) — all from REST_FRAMEWORK settings, so the allowlist permission and the rate-limit
   throttle slot in there without touching any view; views must not override those attributes;
5. the view, whose querysets go through ``account_scoped`` (another account's object is a 404);
6. ``api_request_finished`` is sent once the response is final (usage tracking, request log);
   the Redis writes its receivers make go out together afterwards, from a thread, with other
   requests' (``sharedcache.RedisBatch``, ``sharedcache.background``): no request waits for them.

Step 1's round trip to Redis is usually on its way before any of this runs: a middleware sends
the credential lookup as the request comes in and the authenticator takes its reply
(``statuspool.api.early_lookup``).

Response headers that a pipeline component computes (e.g. the throttle's ``X-RateLimit-*``) go in
``request.api_response_headers`` (a dict); they are copied onto every response, errors included.
"""

import time
from functools import cached_property

from django.http import HttpResponse
from rest_framework.generics import GenericAPIView
from rest_framework.views import APIView

from statuspool.accounts.models import Account
from statuspool.api.credentials import Credential
from statuspool.api.leaks import refuse_credentials_in_body, refuse_credentials_in_url
from statuspool.api.negotiation import JsonApiNegotiation
from statuspool.api.schema import ApiAutoSchema
from statuspool.api.signals import api_request_finished
from statuspool.client_ip import request_ip
from statuspool.database import UNAVAILABLE_ERRORS
from statuspool.sharedcache import RedisBatch


class ApiView(APIView):
    """Every /v2 endpoint. Subclasses declare ``required_scopes`` (see permissions.py)."""

    required_scopes: dict[str, str | None]
    schema = ApiAutoSchema()
    content_negotiation_class = JsonApiNegotiation

    def dispatch(self, request, *args, **kwargs):
        self._started = time.monotonic()
        try:
            return super().dispatch(request, *args, **kwargs)
        except Exception as exc:
            # DRF finalizes only the responses it builds: a request that ends in Django's 500
            # or the database outage's 503 (statuspool.database) is reported here, with the
            # status its client gets, so the request log keeps what went wrong too.
            status = 503 if isinstance(exc, UNAVAILABLE_ERRORS) else 500
            self._report_finished(getattr(self, "request", request), HttpResponse(status=status))
            raise

    def initial(self, request, *args, **kwargs):
        refuse_credentials_in_url(request._request)
        refuse_credentials_in_body(request)
        super().initial(request, *args, **kwargs)

    @property
    def credential(self) -> Credential:
        return self.request.auth

    @cached_property
    def account(self):
        """The credential's Account row, loaded once per request for views that show it."""
        return Account.objects.get(pk=self.credential.account_id)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Account data answered to a credential: no shared cache may keep it.
        response.setdefault("Cache-Control", "no-store")
        for name, value in (getattr(request, "api_response_headers", None) or {}).items():
            response[name] = value
        self._report_finished(request, response)
        return response

    def _report_finished(self, request, response) -> None:
        """``api_request_finished`` for a request made with a credential (usage, request log)."""
        # _auth, not auth: reading .auth would authenticate a request that failed before it.
        credential = getattr(request, "_auth", None)
        if not isinstance(credential, Credential):
            return
        started = getattr(self, "_started", None)
        batch = RedisBatch.begin()
        api_request_finished.send(
            sender=type(self),
            credential=credential,
            request=request,
            response=response,
            ip=request_ip(request),
            duration_ms=round((time.monotonic() - started) * 1000, 1) if started else 0.0,
            redis_batch=batch,
        )
        if batch is not None:
            # Off the request's path: this process's sender thread sends it within
            # SENDER_INTERVAL, with other requests' (statuspool.sharedcache.BackgroundSender).
            batch.send_in_background()


class GenericApiView(ApiView, GenericAPIView):
    """A /v2 view over one model of the credential's account."""

    def account_scoped(self, queryset):
        """Only rows of the credential's account: the one filter every /v2 queryset goes through."""
        credential = getattr(self.request, "auth", None) if self.request is not None else None
        if not isinstance(credential, Credential):
            return queryset.none()  # schema generation inspects views without a credential
        return queryset.filter(account_id=credential.account_id)

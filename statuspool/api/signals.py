"""Signals of the /v2 pipeline, so usage tracking and the request log stay out of the views.

``api_request_finished`` is sent once per /v2 request that carried a valid credential, after the
response is built, with ``credential``, ``request``, ``response``, ``ip``, ``duration_ms`` and
``redis_batch``: a ``statuspool.sharedcache.RedisBatch`` that receivers add their Redis writes
to, sent in one round trip after every receiver ran (None when the cache is not Redis or is down,
or when the signal is sent from elsewhere: write directly then).
Receivers must not write to the database synchronously (buffer, then flush from a task).
"""

from django.dispatch import Signal

# Sent on every /v2 request: receivers are looked up once per sender (the view class), not per
# request. The sender must therefore be a class (weakly referenced), never None.
api_request_finished = Signal(use_caching=True)

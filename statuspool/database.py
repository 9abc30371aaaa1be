"""What a request sees when PostgreSQL is down, restarting or hanging: a bounded 503, not a 500.

* **Down or restarting** (connection refused, reset, "the database system is starting up"):
  every database error that says the server is not there (``OperationalError``,
  ``InterfaceError``) becomes ``503`` with ``Retry-After``: JSON
  ``{"error": {"code": "service_unavailable", …}}`` under ``/v2``, the OAuth error format under
  ``/oauth/``, a static page (no database, no session) on the dashboard. ``UnavailableMiddleware``
  catches it from views; ``handler500`` (urls.py) catches what middleware raised. Nothing to
  restart afterwards: Django opens a new connection on the next request.
* **Slow**: ``DATABASE_STATEMENT_TIMEOUT`` is PostgreSQL's ``statement_timeout`` (the server
  cancels the statement) and ``DATABASE_CONNECT_TIMEOUT`` libpq's ``connect_timeout``.
* **Hanging** (a paused or partitioned server answers nothing, so it cancels nothing): each query
  of a web process is armed on a watchdog thread; past the statement timeout plus a margin it
  shuts the connection's socket down, the waiting query fails at once and the request gets its
  503. (The kernel keeps acknowledging a stopped server's packets, so TCP timeouts never fire.)
* The outage is logged once per ``DATABASE_ERROR_LOG_INTERVAL`` per process with the number of
  failures not logged, never one traceback per request.
"""

import heapq
import itertools
import logging
import socket
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("statuspool.database")

UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
# How long past the statement timeout the client waits before deciding the server hangs: the
# server's own cancellation (a clean error, connection kept) should come first.
HANG_MARGIN_SECONDS = 2.0


class OutageLog:
    """Logs an outage at most once per interval per process, counting what it did not log."""

    def __init__(self, message: str, interval_setting: str):
        self._message = message
        self._interval_setting = interval_setting
        self._lock = threading.Lock()
        self._next = 0.0
        self._suppressed = 0

    def failed(self, exc: Exception, during: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next = now + getattr(settings, self._interval_setting)
        logger.error(self._message, during, type(exc).__name__, exc, suppressed)

    def reset(self) -> None:
        with self._lock:
            self._next, self._suppressed = 0.0, 0


outage_log = OutageLog(
    "Database unavailable during %s (%s: %s); answering 503 until it is back "
    "(%d similar errors not logged)",
    "DATABASE_ERROR_LOG_INTERVAL",
)


def _path_kind(path: str) -> str:
    if path == "/v2" or path.startswith("/v2/"):
        return "api"
    if path.startswith("/oauth/") and not path.startswith("/oauth/authorize"):
        return "oauth"
    return "page"


def unavailable_response(request) -> HttpResponse:
    kind = _path_kind(request.path)
    message = "StatusPool is temporarily unavailable. Try again in a few seconds."
    if kind == "api":
        body = {"error": {"code": "service_unavailable", "message": message}}
        response = JsonResponse(body, status=503)
    elif kind == "oauth":
        body = {"error": "temporarily_unavailable", "error_description": message}
        response = JsonResponse(body, status=503)
        response["Cache-Control"] = "no-store"
    else:
        # A static page: the base layout would ask the database for the user and the account.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # We logged it (rate-limited); Django's request logger would add a traceback per request.
    response._has_been_logged = True
    return response


def response_for(request, exc: BaseException) -> HttpResponse | None:
    """The 503 for a database outage, or None for any other error."""
    if not isinstance(exc, UNAVAILABLE_ERRORS):
        return None
    outage_log.failed(exc, f"{request.method} {request.path}")
    return unavailable_response(request)


class UnavailableMiddleware:
    """Turns a database outage raised by a view into a 503 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response
        connection_created.connect(arm_query_deadlines, dispatch_uid="statuspool.database")

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return response_for(request, exception)


# --- Client-side deadline for a server that answers nothing ---------------------------------------
class _Watchdog:
    """One thread per process: shuts down the socket of a query that outlived its deadline.

    The lock makes disarming and shutting down exclusive, so a socket is only ever shut while
    its query is still waiting (its connection cannot have been closed and its descriptor
    reused by then).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, int] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, fileno: int, seconds: float) -> int:
        with self._lock:
            token = next(self._ids)
            self._armed[token] = fileno
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-deadline", daemon=True)
                self._thread.start()
            if self._heap[0][1] == token:
                # Only a new earliest deadline needs the thread awake; with one timeout for all
                # queries that is only when nothing else is armed, not on every query.
                self._wake.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.pop(token, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, token = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._shut(self._armed.pop(token))

    @staticmethod
    def _shut(fileno: int) -> None:
        try:
            # A second socket object on the same descriptor: shutdown() acts on the connection,
            # detach() leaves the descriptor to its owner (psycopg) to close.
            sock = socket.socket(fileno=fileno)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.detach()
        except OSError:
            pass


_watchdog = _Watchdog()


def _deadline_wrapper(execute, sql, params, many, context):
    timeout = settings.DATABASE_STATEMENT_TIMEOUT
    raw = getattr(context["connection"], "connection", None)
    if not timeout or raw is None:
        return execute(sql, params, many, context)
    token = _watchdog.arm(raw.fileno(), timeout + HANG_MARGIN_SECONDS)
    try:
        return execute(sql, params, many, context)
    finally:
        _watchdog.disarm(token)


def arm_query_deadlines(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: bound every query of this (web) process's connection."""
    if connection.vendor == "postgresql" and _deadline_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(_deadline_wrapper)

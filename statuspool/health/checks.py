"""Health of the processes behind the service, for `manage.py health` and `/healthz`.

Each check answers in a bounded time and never raises: a failure is a result. ``run_checks`` says
"ok" only when every requested check is ok. Details carry numbers and error class names only (the
web endpoint is unauthenticated): no host names, addresses or messages.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "health:beat:last-tick"


@dataclass
class Result:
    ok: bool
    details: dict = field(default_factory=dict)


def _failed(error: Exception) -> Result:
    return Result(False, {"error": type(error).__name__})


def check_database() -> Result:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A paused or overloaded database must not hold the check for longer than this (LOCAL:
            # the pooled connection keeps its own setting afterwards).
            cursor.execute("SET LOCAL statement_timeout = 2000")
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Result(True)


def check_redis() -> Result:
    if not settings.REDIS_URL:
        return Result(True, {"configured": False})  # embedded default: file cache
    from statuspool.sharedcache import redis_of

    redis_of(caches["default"]).client.ping()
    return Result(True, {"configured": True})


def check_broker() -> Result:
    from statuspool.celery import app

    with app.connection_for_write(connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        return Result(True, {"transport": conn.transport_cls})


def check_beat() -> Result:
    """Beat writes its tick (``HeartbeatScheduler``); an old or missing one means no periodic jobs."""
    last = caches["default"].get(BEAT_HEARTBEAT_KEY)
    if last is None:
        return Result(False, {"last_tick_seconds_ago": None})
    age = round(time.time() - last, 1)
    return Result(age <= settings.HEALTH_BEAT_MAX_AGE, {"last_tick_seconds_ago": age})


def check_outbox() -> Result:
    """Emails due for longer than HEALTH_OUTBOX_MAX_DELAY: the worker is not sending them."""
    from statuspool.notifications.models import OutboxEmail

    now = timezone.now()
    pending = OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING)
    oldest = pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    overdue_for = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return Result(
        overdue_for <= settings.HEALTH_OUTBOX_MAX_DELAY,
        {"pending": pending.count(), "oldest_due_seconds_ago": round(overdue_for, 1)},
    )


CHECKS: dict[str, Callable[[], Result]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
    "beat": check_beat,
    "outbox": check_outbox,
}


def run_checks(names=None) -> tuple[bool, dict]:
    """(healthy, report) for the named checks (all when None); unknown names raise KeyError."""
    report = {}
    for name in names or CHECKS:
        check = CHECKS[name]
        started = time.perf_counter()
        try:
            result = check()
        except Exception as error:  # each is a dependency being down: report it, go on
            logger.warning("health check %s failed: %s: %s", name, type(error).__name__, error)
            result = _failed(error)
        report[name] = {"ok": result.ok, **result.details}
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    healthy = all(entry["ok"] for entry in report.values())
    return healthy, {"status": "ok" if healthy else "unhealthy", "checks": report}


def beat_heartbeat_write(now: float | None = None) -> None:
    """Record that beat is ticking. Never raises: a Redis outage must not stop beat."""
    try:
        caches["default"].set(BEAT_HEARTBEAT_KEY, now or time.time(), timeout=None)
    except Exception as error:
        logger.warning("beat heartbeat not written: %s: %s", type(error).__name__, error)

"""Audit Log at scale: 1,000,000 events of one account in PostgreSQL, then p50/p95 latencies of
the Audit Log page, GET /v2/audit-log (first page, a deep page) and a filtered query.

Run with ``make bench`` (or ``python -m bench audit_log``). Needs DATABASE_URL pointing at
PostgreSQL; the benchmark works in a database of its own (BENCH_AUDIT_DATABASE, default
statuspool_bench) on that server, created on first use and reused while it still holds the
1,000,000 events (BENCH_AUDIT_RELOAD=1 rebuilds it). Target: p95 under 100 ms for every query.
"""

import base64
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bench.kept_database import kept_database

EVENTS = 1_000_000
RUNS = 50
WARMUP = 3
TARGET_P95_MS = 100
BATCH = 20_000
ACCOUNT_NAME = "Bench Audit Co"
ADMIN_EMAIL = "bench-admin@statuspool.test"
ACTIONS = [
    "auth.login",
    "auth.login",
    "auth.login",
    "apikey.created",
    "apikey.rotated",
    "apikey.revoked",
    "apikey.kept_active",
    "apikey.scopes_changed",
    "oauth.grant_approved",
    "oauth.grant_revoked",
    "auth.sudo_failed",
    "auth.2fa_enrolled",
]
ACTORS = ["alice@bench.test", "bob@bench.test", "carol@bench.test", "dave@bench.test"]
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=360)


def _refuse(message: str) -> int:
    print(f"audit_log benchmark: {message}", file=sys.stderr)
    return 2


def _fixtures():
    """The account, a team admin with 2FA and a teams:admin key (created once)."""
    import pyotp
    from django.db import transaction
    from django.utils import timezone

    from apikeys.models import ApiKey
    from apikeys.services import apikey_create
    from audit.services import Actor
    from statuspool.accounts.models import Account, Membership, Role, TOTPDevice, User

    with transaction.atomic():
        account = Account.objects.filter(name=ACCOUNT_NAME).first()
        if account is None:
            account = Account.objects.create(
                name=ACCOUNT_NAME, plan="enterprise", billing_email=ADMIN_EMAIL
            )
        admin = User.objects.filter(email=ADMIN_EMAIL).first()
        if admin is None:
            admin = User.objects.create_user(ADMIN_EMAIL, "bench passphrase not used 1")
            TOTPDevice.objects.create(
                user=admin, secret=pyotp.random_base32(), confirmed_at=timezone.now()
            )
            Membership.objects.create(user=admin, account=account, role=Role.OWNER)
        # A fresh key per run (the database is the benchmark's own; earlier keys are dropped).
        ApiKey.objects.filter(account=account).delete()
    name = f"bench-{int(time.time())}"
    key, raw = apikey_create(
        account=account, name=name, scopes=["teams:admin"], actor=Actor.system("bench")
    )
    return account, admin, key, raw


def _event(account_id: int, index: int, prev_hash: str):
    from audit.models import AuditEvent

    moment = START + SPAN * index / EVENTS + timedelta(microseconds=index % 997)
    action = ACTIONS[index % len(ACTIONS)]
    event = AuditEvent(
        id=index + 1,
        occurred_at=moment,
        account_id=account_id,
        actor_email=ACTORS[index % len(ACTORS)],
        actor_kind="user",
        ip=f"198.51.{(index // 250) % 256}.{index % 250 + 1}",
        user_agent="Mozilla/5.0 (bench)",
        action=action,
        target_type="apikey",
        target_id=str(index % 4000),
        target_label=f"key {index % 4000}",
        details={"n": index, "reason": "bench"} if action == "apikey.revoked" else {"n": index},
        prev_hash=prev_hash,
    )
    event.hash = event.compute_hash()
    return event


_COLUMNS = (
    "id, occurred_at, account_id, actor_email, actor_kind, actor_label, ip, user_agent, action, "
    "target_type, target_id, target_label, details, prev_hash, hash"
)


def _load(account_id: int) -> None:
    """COPY the events in batches, hashing each into the account's chain as record() would."""
    from django.db import connection, transaction
    from tqdm import tqdm

    from audit.models import AuditChain, AuditEvent

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent, audit_auditchain")
    prev_hash, last = "", None
    with tqdm(total=EVENTS, unit="event", desc="loading") as progress:
        for start in range(0, EVENTS, BATCH):
            with transaction.atomic(), connection.cursor() as cursor:
                copy_sql = f"COPY audit_auditevent ({_COLUMNS}) FROM STDIN"  # noqa: S608
                with cursor.cursor.copy(copy_sql) as copy:
                    for index in range(start, min(start + BATCH, EVENTS)):
                        last = _event(account_id, index, prev_hash)
                        prev_hash = last.hash
                        copy.write_row(
                            (
                                last.id,
                                last.occurred_at,
                                account_id,
                                last.actor_email,
                                last.actor_kind,
                                last.actor_label,
                                last.ip,
                                last.user_agent,
                                last.action,
                                last.target_type,
                                last.target_id,
                                last.target_label,
                                json.dumps(last.details),
                                last.prev_hash,
                                last.hash,
                            )
                        )
            progress.update(min(BATCH, EVENTS - start))
    AuditChain.objects.create(account_key=account_id, head_event_id=last.id, head_hash=last.hash)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), %s)", [EVENTS + 1]
        )
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    sample = AuditEvent.objects.get(pk=EVENTS // 2)
    assert sample.compute_hash() == sample.hash, "a loaded event does not verify"  # nosec B101  # benchmark self-check, not production code


def _drf_cursor(position: str) -> str:
    """The cursor DRF's CursorPagination would emit for an old position (a deep page)."""
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def _measure(name: str, call, results: dict) -> None:
    for _ in range(WARMUP):
        call()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(timings, n=100)
    results[name] = (statistics.median(timings), cuts[94])


def _checked(client_call, status=200):
    def call():
        response = client_call()
        if response.status_code != status:
            raise RuntimeError(f"unexpected {response.status_code}: {response.content[:200]!r}")
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        return response

    return call


def _explain(account_id: int) -> str:
    from audit import keyset
    from audit.models import AuditEvent

    deep = AuditEvent.objects.only("occurred_at", "id").get(pk=EVENTS // 10)
    queryset = keyset.older_than(
        AuditEvent.objects.filter(account_id=account_id), (deep.occurred_at, deep.id)
    ).order_by("-occurred_at", "-id")[:51]
    return queryset.explain(analyze=True)


def _run(account, admin, raw) -> dict:
    from django.test import Client

    from audit import keyset
    from audit.models import AuditEvent

    page = Client()
    page.force_login(admin)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    deep = AuditEvent.objects.only("occurred_at", "id").get(pk=EVENTS // 10)  # 900,000 rows deep
    since, until = "2026-05-01", "2026-06-30"
    results = {}
    _measure("Audit Log page (first)", _checked(lambda: page.get("/settings/audit-log/")), results)
    _measure(
        "Audit Log page (900,000 rows deep)",
        _checked(lambda: page.get("/settings/audit-log/", {"before": keyset.encode(deep)})),
        results,
    )
    _measure(
        "Audit Log page (action + dates)",
        _checked(
            lambda: page.get(
                "/settings/audit-log/",
                {"action": "apikey.revoked", "since": since, "until": until},
            )
        ),
        results,
    )
    _measure("GET /v2/audit-log first page", _checked(lambda: api.get("/v2/audit-log")), results)
    cursor = _drf_cursor(str(deep.occurred_at))
    _measure(
        "GET /v2/audit-log deep page (900,000 rows deep)",
        _checked(lambda: api.get("/v2/audit-log", {"cursor": cursor})),
        results,
    )
    _measure(
        "GET /v2/audit-log?action=…&since=…&until=…",
        _checked(
            lambda: api.get(
                "/v2/audit-log", {"action": "apikey.revoked", "since": since, "until": until}
            )
        ),
        results,
    )
    return results


def main() -> int:
    with kept_database(os.environ.get("BENCH_AUDIT_DATABASE", "statuspool_bench")) as name:
        if name is None:
            return _refuse(
                "needs PostgreSQL: set DATABASE_URL=postgres://… (SQLite cannot show what a "
                "million-row audit log costs)."
            )
        return _benchmark(name)


def _benchmark(name: str) -> int:
    from django.core.management import call_command

    from audit.models import AuditEvent
    from usage import requestlog

    call_command("migrate", verbosity=0)
    account, admin, key, raw = _fixtures()
    loaded = AuditEvent.objects.filter(account=account).count()
    if loaded < EVENTS or os.environ.get("BENCH_AUDIT_RELOAD"):
        started = time.perf_counter()
        _load(account.pk)
        print(f"Loaded {EVENTS:,} audit events in {time.perf_counter() - started:.0f} s.")
    else:
        print(f"Reusing the {EVENTS:,} audit events already in database {name!r}.")
    print("\nKeyset page 900,000 rows deep, EXPLAIN ANALYZE:\n" + _explain(account.pk))
    results = _run(account, admin, raw)
    requestlog.flush()  # the benchmark's own /v2 requests, out of the shared buffer
    print(f"\n{'query':<52} {'p50 ms':>8} {'p95 ms':>8}")
    failed = []
    for label, (p50, p95) in results.items():
        print(f"{label:<52} {p50:>8.1f} {p95:>8.1f}")
        if p95 >= TARGET_P95_MS:
            failed.append(label)
    print(f"\n{RUNS} runs each after {WARMUP} warm-up runs; target p95 < {TARGET_P95_MS} ms.")
    if failed:
        print("Over target: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Retention: 365 days, in batches, and every chain stays verifiable afterwards."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from audit.chain import verify_all, verify_chain
from audit.models import AuditChain, AuditEvent
from audit.retention import purge_events
from usage.models import RequestLog
from usage.retention import retention_purge_expired
from usage.tasks import purge_expired

from .conftest import add_event

NOW = datetime(2027, 6, 1, 9, 30, 0, tzinfo=UTC)
RETENTION = timedelta(days=365)


def request_row(account, at, **fields):
    return RequestLog.objects.create(
        occurred_at=at,
        account=account,
        credential_kind="api_key",
        credential_id=1,
        method="GET",
        path="/v2/monitors",
        status=200,
        **fields,
    )


def test_boundary_is_365_days_to_the_second(account_a):
    expired = add_event(account_a, "apikey.created", at=NOW - RETENTION - timedelta(seconds=1))
    kept = add_event(account_a, "apikey.revoked", at=NOW - RETENTION + timedelta(seconds=1))
    old_request = request_row(account_a, NOW - RETENTION - timedelta(seconds=1))
    recent_request = request_row(account_a, NOW - RETENTION + timedelta(seconds=1))
    with time_machine.travel(NOW, tick=False):
        result = retention_purge_expired()
    assert (result.events, result.requests) == (1, 1)
    assert list(AuditEvent.objects.values_list("id", flat=True)) == [kept.id]
    assert list(RequestLog.objects.values_list("id", flat=True)) == [recent_request.id]
    assert not RequestLog.objects.filter(pk=old_request.pk).exists()
    chain = AuditChain.objects.get(account_key=account_a.pk)
    assert (chain.anchor_event_id, chain.anchor_hash) == (expired.id, expired.hash)
    assert chain.purged_count == 1
    assert verify_all() == []


def test_chain_verifies_after_purging_in_many_batches(account_a, account_b):
    for day in range(12):
        add_event(account_a, at=NOW - RETENTION - timedelta(days=30 - day))
        add_event(account_b, at=NOW - RETENTION - timedelta(days=30 - day))
    survivors = [add_event(account_a, at=NOW - timedelta(days=day)) for day in (3, 2, 1)]
    with time_machine.travel(NOW, tick=False):
        deleted = purge_events(cutoff=NOW - RETENTION, batch_size=5)
        # Events keep being written to the purged chains afterwards.
        survivors.append(add_event(account_a))
        add_event(account_b)
    assert deleted == 24
    assert list(AuditEvent.objects.for_chain(account_a.pk)) == survivors
    assert AuditEvent.objects.for_chain(account_b.pk).count() == 1
    assert verify_all() == []
    assert AuditChain.objects.get(account_key=account_b.pk).purged_count == 12


def test_purging_a_whole_chain_leaves_it_verifiable(account_a):
    add_event(account_a, at=NOW - RETENTION - timedelta(days=2))
    with time_machine.travel(NOW, tick=False):
        purge_events(cutoff=NOW - RETENTION)
    assert not AuditEvent.objects.exists()
    assert verify_chain(account_a.pk) is None
    later = add_event(account_a)
    assert later.prev_hash == AuditChain.objects.get(account_key=account_a.pk).anchor_hash
    assert verify_all() == []


def test_deleting_after_a_purge_is_still_detected(account_a):
    add_event(account_a, at=NOW - RETENTION - timedelta(days=2))
    kept = [add_event(account_a, at=NOW - timedelta(days=d)) for d in (3, 2)]
    with time_machine.travel(NOW, tick=False):
        purge_events(cutoff=NOW - RETENTION)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [kept[0].id])
    found = verify_chain(account_a.pk)
    assert found.event_id == kept[1].id and "anchor" in found.reason


def test_purge_stops_at_the_first_event_inside_retention_in_chain_order(account_a):
    """An event written with a slightly earlier clock after a newer one waits for the next run,
    so what stays is always an unbroken tail of the chain."""
    old = add_event(account_a, at=NOW - RETENTION - timedelta(days=3))
    inside = add_event(account_a, at=NOW - RETENTION + timedelta(hours=1))
    skewed = add_event(account_a, at=NOW - RETENTION - timedelta(days=1))
    with time_machine.travel(NOW, tick=False):
        assert purge_events(cutoff=NOW - RETENTION) == 1
    assert list(AuditEvent.objects.for_chain(account_a.pk)) == [inside, skewed]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert verify_all() == []


def test_purge_command_dry_run_changes_nothing(account_a):
    add_event(account_a, at=NOW - RETENTION - timedelta(days=1))
    request_row(account_a, NOW - RETENTION - timedelta(days=1))
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_audit_log", "--dry-run", stdout=out)
    assert "would delete 1 audit event(s) and 1 request-log row(s)" in out.getvalue()
    assert AuditEvent.objects.count() == 1 and RequestLog.objects.count() == 1


def test_purge_command_with_days(account_a):
    add_event(account_a, at=NOW - timedelta(days=40))
    recent = add_event(account_a, at=NOW - timedelta(days=20))
    out, err = StringIO(), StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_audit_log", "--days", "30", stdout=out, stderr=err)
    assert "Deleted 1 audit event(s) and 0 request-log row(s)" in out.getvalue()
    assert list(AuditEvent.objects.all()) == [recent]
    assert "row" in err.getvalue()  # the progress bar
    assert verify_all() == []


def test_daily_task_purges_with_the_retention_setting(account_a, settings):
    settings.AUDIT_RETENTION_DAYS = 10
    add_event(account_a, at=NOW - timedelta(days=11))
    kept = add_event(account_a, at=NOW - timedelta(days=9))
    request_row(account_a, NOW - timedelta(days=11))
    with time_machine.travel(NOW, tick=False):
        assert purge_expired.delay().get() == {"events": 1, "requests": 1}
    assert list(AuditEvent.objects.all()) == [kept]
    assert not RequestLog.objects.exists()


def test_the_daily_job_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge-expired"]
    assert entry["task"] == "usage.tasks.purge_expired"
    assert entry["schedule"] == timedelta(days=1)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_request_log_purge_in_batches(account_a, batch_size):
    from usage.retention import purge_requests

    for hours in range(7):
        request_row(account_a, NOW - RETENTION - timedelta(hours=hours + 1))
    kept = request_row(account_a, NOW)
    assert purge_requests(cutoff=NOW - RETENTION, batch_size=batch_size) == 7
    assert list(RequestLog.objects.all()) == [kept]

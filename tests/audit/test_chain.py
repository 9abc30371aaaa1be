"""Tamper evidence: record() chains events per account; verify_audit_log finds the first break."""

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.chain import verify_all, verify_chain
from audit.models import AppendOnlyError, AuditChain, AuditEvent
from audit.services import Actor, ActorKind, record

from .conftest import add_event


def verify_command(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit_log", "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue()


def run_sql(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_record_writes_every_field_and_links_the_chain(account_a, alice):
    actor = Actor(
        kind=ActorKind.USER, user=alice, ip="::ffff:198.51.100.7", user_agent="Firefox/130"
    )
    first = add_event(account_a, "apikey.created", actor=actor, details={"scopes": ["a"]})
    second = add_event(account_a, "apikey.revoked", actor=actor, details={"reason": "compromised"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.actor_email == "alice@acme.test"
    assert first.actor_kind == "user"
    assert first.ip == "198.51.100.7"  # IPv4-mapped addresses are stored as IPv4
    assert first.user_agent == "Firefox/130"
    assert first.prev_hash == ""
    assert second.prev_hash == first.hash
    # The stored row, read back from the database, hashes to what record() computed.
    assert first.compute_hash() == first.hash and second.compute_hash() == second.hash
    chain = AuditChain.objects.get(account_key=account_a.pk)
    assert (chain.head_event_id, chain.head_hash) == (second.id, second.hash)


def test_chains_are_per_account(account_a, account_b):
    a1 = add_event(account_a)
    b1 = add_event(account_b)
    a2 = add_event(account_a)
    assert b1.prev_hash == ""
    assert a2.prev_hash == a1.hash


def test_events_without_an_account_have_their_own_chain(account_a):
    first = add_event(None, "auth.login_failed", details={"email": "nobody@example.com"})
    add_event(account_a)
    second = add_event(None, "auth.login_failed", details={"email": "nobody@example.com"})
    assert second.prev_hash == first.hash
    assert verify_all() == []


@pytest.mark.django_db(transaction=True)
def test_record_refuses_to_run_outside_a_transaction(account_a):
    with pytest.raises(RuntimeError):
        record(action="apikey.created", actor=Actor.system(), account=account_a)


@pytest.mark.parametrize(
    "details",
    [
        {"secret": "x"},
        {"Token": "x"},
        {"note": "leaked sp_live_4f8a2c91e7d3b6aa0123456789abcdefABCDEF12"},
        {"nested": {"list": ["sp_oat_0123456789abcdefghijklmnop"]}},
    ],
)
def test_record_refuses_secrets_in_details(account_a, details):
    with pytest.raises(ValueError), transaction.atomic():
        record(action="apikey.created", actor=Actor.system(), account=account_a, details=details)
    assert not AuditEvent.objects.exists()


def test_details_are_stored_as_the_database_returns_them(account_a):
    from datetime import UTC, datetime

    event = add_event(account_a, details={"expires_at": datetime(2026, 1, 2, tzinfo=UTC), 3: 1})
    event.refresh_from_db()
    assert event.details == {"expires_at": "2026-01-02T00:00:00Z", "3": 1}
    assert event.compute_hash() == event.hash


def test_events_cannot_be_changed_or_deleted_through_the_orm(events_a):
    event = events_a[0]
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_intact_chains_verify(events_a, account_b):
    add_event(account_b)
    assert verify_all() == []
    assert "OK: 2 chain(s), 6 event(s) verified." in verify_command()


def test_an_altered_row_is_named(events_a):
    target = events_a[2]
    run_sql("UPDATE audit_auditevent SET action = 'apikey.kept_active' WHERE id = %s", [target.id])
    found = verify_chain(target.account_id)
    assert found.event_id == target.id
    assert "altered" in found.reason
    with pytest.raises(CommandError, match=rf"event #{target.id}: .*altered"):
        verify_command()


def test_an_altered_ip_is_named(events_a):
    target = events_a[1]
    run_sql("UPDATE audit_auditevent SET ip = '192.0.2.66' WHERE id = %s", [target.id])
    assert verify_chain(target.account_id).event_id == target.id


def test_a_row_altered_and_rehashed_breaks_the_next_link(events_a):
    target = events_a[1]
    forged = AuditEvent.objects.get(pk=target.pk)
    forged.details = {"n": 99}
    run_sql(
        "UPDATE audit_auditevent SET details = %s, hash = %s WHERE id = %s",
        ['{"n": 99}', forged.compute_hash(), target.id],
    )
    found = verify_chain(target.account_id)
    assert found.event_id == events_a[2].id
    assert f"does not match event #{target.id}" in found.reason


def test_a_deleted_row_is_found_at_the_next_event(events_a):
    run_sql("DELETE FROM audit_auditevent WHERE id = %s", [events_a[2].id])
    found = verify_chain(events_a[0].account_id)
    assert found.event_id == events_a[3].id
    assert "deleted" in found.reason
    with pytest.raises(CommandError, match=rf"event #{events_a[3].id}"):
        verify_command("--account", str(events_a[0].account_id))


def test_deleting_the_newest_events_is_found(events_a):
    run_sql("DELETE FROM audit_auditevent WHERE id = %s", [events_a[-1].id])
    found = verify_chain(events_a[0].account_id)
    assert found.event_id == events_a[-2].id
    assert f"chain head is event #{events_a[-1].id}" in found.reason


def test_deleting_the_oldest_events_outside_retention_is_found(events_a):
    run_sql("DELETE FROM audit_auditevent WHERE id = %s", [events_a[0].id])
    found = verify_chain(events_a[0].account_id)
    assert found.event_id == events_a[1].id
    assert "anchor" in found.reason


def _insert_copy(source, *, event_id, prev_hash, rehash=True):
    """Insert a forged event with raw SQL, as someone with database access would."""
    forged = AuditEvent.objects.get(pk=source.pk)
    forged.id = event_id
    forged.action = "apikey.scopes_changed"
    forged.details = {"n": 1}
    forged.prev_hash = prev_hash
    forged.hash = forged.compute_hash() if rehash else "0" * 64
    run_sql(
        "INSERT INTO audit_auditevent (id, occurred_at, account_id, actor_email, actor_kind, "
        "actor_label, ip, user_agent, action, target_type, target_id, target_label, details, "
        "prev_hash, hash, hash_key_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            forged.id,
            forged.occurred_at,
            forged.account_id,
            forged.actor_email,
            forged.actor_kind,
            forged.actor_label,
            forged.ip,
            forged.user_agent,
            forged.action,
            forged.target_type,
            forged.target_id,
            forged.target_label,
            '{"n": 1}',
            forged.prev_hash,
            forged.hash,
            forged.hash_key_id,
        ],
    )
    return forged


def test_a_row_inserted_at_the_end_is_named_even_with_a_valid_hash(events_a):
    last = events_a[-1]
    forged = _insert_copy(last, event_id=last.id + 1000, prev_hash=last.hash)
    found = verify_chain(last.account_id)
    assert found.event_id == forged.id
    assert "inserted" in found.reason
    with pytest.raises(CommandError, match=rf"event #{forged.id}: .*inserted"):
        verify_command()


def test_a_row_inserted_in_the_middle_is_named(events_a, account_a):
    # Leave a gap in the ids (as rolled-back transactions do), then forge an event into it.
    last = events_a[-1]
    gap_id = last.id + 50
    if connection.vendor == "postgresql":
        run_sql("SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), %s)", [gap_id])
    else:
        run_sql("UPDATE sqlite_sequence SET seq = %s WHERE name = 'audit_auditevent'", [gap_id])
    real = add_event(account_a, "apikey.revoked")
    assert real.id > gap_id and real.prev_hash == last.hash
    forged = _insert_copy(last, event_id=gap_id, prev_hash=last.hash)
    found = verify_chain(account_a.pk)
    assert found.event_id == forged.id
    assert f"next event #{real.id} chains to the event before it" in found.reason


def test_a_forged_row_with_a_garbage_hash_is_named(events_a):
    last = events_a[-1]
    run_sql("UPDATE audit_auditchain SET head_event_id = %s", [last.id + 7])
    forged = _insert_copy(last, event_id=last.id + 7, prev_hash=last.hash, rehash=False)
    assert verify_chain(last.account_id).event_id == forged.id


def test_deleting_a_user_keeps_their_events_verifiable(account_a, alice):
    add_event(account_a, actor=Actor.from_request(_FakeRequest(alice)))
    alice.delete()
    event = AuditEvent.objects.get()
    assert event.actor_id is None and event.actor_email == "alice@acme.test"
    assert verify_all() == []


class _FakeRequest:
    def __init__(self, user):
        self.user = user
        self.META = {"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "pytest"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_a_chain(account_a):
    writers, per_writer = 8, 15
    errors = []
    barrier = threading.Barrier(writers)

    def write(number):
        try:
            barrier.wait()
            for index in range(per_writer):
                with transaction.atomic():
                    record(
                        action="apikey.kept_active",
                        actor=Actor.system(label=f"writer {number}"),
                        account=account_a,
                        details={"writer": number, "index": index},
                    )
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = list(AuditEvent.objects.for_chain(account_a.pk))
    assert len(events) == writers * per_writer
    prev_hashes = [event.prev_hash for event in events]
    assert len(set(prev_hashes)) == len(prev_hashes)  # no two events chained to the same one
    assert verify_chain(account_a.pk) is None
    assert "OK: 1 chain(s), 120 event(s) verified." in verify_command()

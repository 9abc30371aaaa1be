"""Issue 10 item 2: an audit chain that a database writer cannot re-forge.

Reproduction: rewrite one event and re-hash the rest of its chain and the head the way the code
computed hashes before (plain SHA-256) — verify_audit_log accepted that. Now the hashes are HMACs
with AUDIT_KEYS (environment only), and checkpoints kept outside the database catch the cuts a
database writer can still make (newest events removed, head moved back).
"""

import base64
import hashlib
import hmac
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.chain import verify_all, verify_chain
from audit.checkpoints import parse
from audit.models import AuditChain, AuditEvent
from audit.retention import cutoff_for, purge_events
from tests.audit.conftest import add_event

pytestmark = pytest.mark.django_db
OTHER_KEY = b"k" * 32


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit_log", "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue()


def run_sql(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rewrite_chain(events, *, target, mac):
    """What a database writer does: change one event, recompute every later hash and the head
    with whatever hash function it has, and write it all back with SQL."""
    previous = events[0].prev_hash
    for event in events:
        event = AuditEvent.objects.get(pk=event.pk)
        if event.pk == target.pk:
            event.details = {"n": 99, "forged": True}
        event.prev_hash = previous
        digest = mac(event.prev_hash.encode() + b"|" + event.canonical_content())
        run_sql(
            "UPDATE audit_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [connection.ops.adapt_json_value(event.details, None), previous, digest, event.pk],
        )
        previous = digest
    AuditChain.objects.filter(account_key=target.account_id).update(head_hash=previous)


@pytest.fixture
def chain_a(account_a):
    return [add_event(account_a, details={"n": n}) for n in range(5)]


def test_record_keys_every_event_with_the_newest_audit_key(chain_a, settings):
    key_id, key = next(iter(settings.AUDIT_KEYS.items()))
    event = AuditEvent.objects.get(pk=chain_a[1].pk)
    assert event.hash_key_id == key_id
    message = key_id.encode() + b"|" + event.prev_hash.encode() + b"|" + event.canonical_content()
    assert event.hash == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_rewritten_and_rehashed_with_sha256_fails_verification(chain_a):
    rewrite_chain(chain_a, target=chain_a[1], mac=lambda m: hashlib.sha256(m).hexdigest())
    found = verify_chain(chain_a[0].account_id)
    assert found is not None and found.event_id == chain_a[0].id
    with pytest.raises(CommandError, match="broken"):
        verify("--account", str(chain_a[0].account_id))


def test_rewritten_with_a_guessed_key_fails_verification(chain_a):
    key_id = chain_a[0].hash_key_id

    def mac(message):
        return hmac.new(OTHER_KEY, key_id.encode() + b"|" + message, hashlib.sha256).hexdigest()

    rewrite_chain(chain_a, target=chain_a[1], mac=mac)
    found = verify_chain(chain_a[0].account_id)
    assert found.event_id == chain_a[0].id
    assert "altered" in found.reason


def test_unkeyed_events_are_refused(chain_a):
    run_sql("UPDATE audit_auditevent SET hash_key_id = '' WHERE id = %s", [chain_a[0].id])
    found = verify_chain(chain_a[0].account_id)
    assert found.event_id == chain_a[0].id and "not keyed" in found.reason


def test_the_audit_key_is_nowhere_in_the_database(chain_a, settings):
    key = next(iter(settings.AUDIT_KEYS.values()))
    spellings = {key.hex(), base64.urlsafe_b64encode(key).decode().rstrip("=")}
    spellings.add(base64.b64encode(key).decode().rstrip("="))
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            name = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {name}")
            text = repr(cursor.fetchall())
            assert not any(spelling in text for spelling in spellings), table


def test_key_rotation_keeps_old_events_verifying(chain_a, settings):
    old_id = chain_a[0].hash_key_id
    settings.AUDIT_KEYS = {"a9": b"n" * 32, **settings.AUDIT_KEYS}
    newer = add_event(chain_a[0].account_id)
    assert newer.hash_key_id == "a9"
    assert verify_all() == []
    settings.AUDIT_KEYS = {"a9": b"n" * 32}  # the retired key was dropped too early
    found = verify_chain(chain_a[0].account_id)
    assert found.event_id == chain_a[0].id and repr(old_id) in found.reason


def test_verify_prints_a_checkpoint_per_chain_head(chain_a, account_b):
    other = add_event(account_b)
    lines = [line for line in verify().splitlines() if line.startswith("audit-checkpoint")]
    points = {point.chain_key: point for point in parse("\n".join(lines))}
    assert points[chain_a[0].account_id].event_id == chain_a[-1].id
    assert points[chain_a[0].account_id].hash == chain_a[-1].hash
    assert points[account_b.pk].event_id == other.id


def test_checkpoint_detects_a_truncated_chain_that_verifies_alone(chain_a, tmp_path):
    saved = tmp_path / "checkpoints.txt"
    saved.write_text(verify())
    add_event(chain_a[0].account_id)
    assert "extends all 1 checkpoint(s)" in verify("--checkpoint", str(saved))

    # Cut the newest events (including the checkpointed head) and move the head back.
    keep = chain_a[2]
    run_sql(
        "DELETE FROM audit_auditevent WHERE account_id = %s AND id > %s",
        [keep.account_id, keep.id],
    )
    AuditChain.objects.filter(account_key=keep.account_id).update(
        head_event_id=keep.id, head_hash=keep.hash
    )
    assert verify_all() == []  # consistent on its own: only the outside anchor shows the cut
    with pytest.raises(CommandError, match="not extended"):
        verify("--checkpoint", str(saved))


def test_checkpoint_detects_a_rewritten_event(chain_a, tmp_path, settings):
    saved = tmp_path / "checkpoints.txt"
    saved.write_text(verify())
    # Even someone holding the key (re-hashing everything) cannot match the kept head.
    key_id, key = next(iter(settings.AUDIT_KEYS.items()))

    def mac(message):
        return hmac.new(key, key_id.encode() + b"|" + message, hashlib.sha256).hexdigest()

    rewrite_chain(chain_a, target=chain_a[1], mac=mac)
    assert verify_all() == []
    with pytest.raises(CommandError, match="not extended"):
        verify("--checkpoint", str(saved))


def test_checkpoint_older_than_retention_survives_the_purge(account_a, tmp_path):
    old = timezone.now() - timedelta(days=400)
    add_event(account_a, at=old)
    saved = tmp_path / "checkpoints.txt"
    saved.write_text(verify())
    add_event(account_a)
    assert purge_events(cutoff=cutoff_for()) == 1
    assert "extends all 1 checkpoint(s)" in verify("--checkpoint", str(saved))


def test_malformed_checkpoint_file_is_refused(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("audit-checkpoint v1 chain=x\n")
    with pytest.raises(CommandError, match="not an audit checkpoint"):
        verify("--checkpoint", str(bad))


def _legacy_chain(account):
    """Events as the code before keyed chains wrote them: hash_key_id "" and plain SHA-256."""
    events = [add_event(account, details={"n": n}) for n in range(3)]
    previous = ""
    for event in events:
        event = AuditEvent.objects.get(pk=event.pk)
        digest = hashlib.sha256(previous.encode() + b"|" + event.canonical_content()).hexdigest()
        run_sql(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, hash_key_id = '' WHERE id = %s",
            [previous, digest, event.pk],
        )
        previous = digest
    AuditChain.objects.filter(account_key=account.pk).update(head_hash=previous)
    return events


def test_migration_rekeys_intact_legacy_chains_and_leaves_broken_ones(account_a, account_b):
    from importlib import import_module

    rekey = import_module("audit.migrations.0004_keyed_chain").rekey
    _legacy_chain(account_a)
    broken = _legacy_chain(account_b)
    run_sql("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [broken[1].id])
    assert {found.chain_key for found in verify_all()} == {account_a.pk, account_b.pk}

    from django.db.migrations.loader import MigrationLoader

    state = MigrationLoader(connection).project_state(("audit", "0004_keyed_chain"))
    rekey(state.apps, None)  # the historical models, as `migrate` hands them to the migration

    assert AuditEvent.objects.filter(account=account_a, hash_key_id="").count() == 0
    assert AuditEvent.objects.filter(account=account_b, hash_key_id="").count() == 3
    [found] = verify_all()
    assert found.chain_key == account_b.pk and "not keyed" in found.reason

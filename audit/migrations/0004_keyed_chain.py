"""Keyed audit chains: every event's hash becomes an HMAC with an AUDIT_KEYS key.

Existing chains are migrated, not left behind: each chain is first verified the old way (unkeyed
SHA-256, the same checks as audit/chain.py), and only an intact chain is re-hashed with the newest
audit key, in place and in chain order. A chain that is already broken is left unkeyed so that
`verify_audit_log` keeps reporting it (re-keying it would launder the break); its events stay with
hash_key_id "" and the migration names the chain on stderr.
"""

import hashlib
import hmac
import ipaddress
import json
import sys
from datetime import UTC

from django.conf import settings
from django.db import migrations, models


def _content(event):
    # A frozen copy of AuditEvent.canonical_content as of this migration.
    content = {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "account": event.account_id,
        "actor_email": event.actor_email,
        "actor_kind": event.actor_kind,
        "actor_label": event.actor_label,
        "ip": str(ipaddress.ip_address(str(event.ip))) if event.ip else None,
        "user_agent": event.user_agent,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "details": event.details,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def _events(AuditEvent, chain_key):
    if chain_key:
        return AuditEvent.objects.filter(account_id=chain_key).order_by("id")
    return AuditEvent.objects.filter(account__isnull=True).order_by("id")


def _legacy_intact(AuditEvent, chain) -> bool:
    expected = chain.anchor_hash
    last = None
    for event in _events(AuditEvent, chain.account_key).iterator(chunk_size=2000):
        if chain.head_event_id is None or event.id > chain.head_event_id:
            return False
        if event.prev_hash != expected:
            return False
        digest = hashlib.sha256(event.prev_hash.encode() + b"|" + _content(event)).hexdigest()
        if event.hash_key_id or digest != event.hash:
            return False
        expected, last = event.hash, event
    if last is None:
        return True
    return last.id == chain.head_event_id and last.hash == chain.head_hash


def rekey(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    key_id, key = next(iter(settings.AUDIT_KEYS.items()))
    for chain in AuditChain.objects.order_by("account_key"):
        if not _legacy_intact(AuditEvent, chain):
            sys.stderr.write(
                f"\naudit 0004: chain {chain.account_key} was already broken; left unkeyed, "
                "verify_audit_log reports it\n"
            )
            continue
        previous = chain.anchor_hash
        last = None
        for event in _events(AuditEvent, chain.account_key).iterator(chunk_size=2000):
            message = key_id.encode() + b"|" + previous.encode() + b"|" + _content(event)
            digest = hmac.new(key, message, hashlib.sha256).hexdigest()
            AuditEvent.objects.filter(pk=event.pk).update(
                prev_hash=previous, hash=digest, hash_key_id=key_id
            )
            previous, last = digest, event
        if last is not None:
            AuditChain.objects.filter(pk=chain.pk).update(head_hash=previous)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_requestlog_moved_to_usage")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="hash_key_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
        # Not reversible: the unkeyed hashes are gone (and were forgeable).
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]

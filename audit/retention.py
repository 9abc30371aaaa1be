"""Retention of the audit trail: events older than AUDIT_RETENTION_DAYS are deleted.

(``usage.retention`` runs this and the request log's purge with one cutoff, as one daily job.)

AuditEvent's queryset refuses delete() by design; this module is the one explicit path that may
remove events. It works in short transactions of a few thousand rows (no long table lock) and
keeps every chain verifiable: per account it removes only the oldest events, in chain order, and
stores the hash of the last one it removed as the chain's anchor, which the first remaining event
must chain to (audit.chain.verify_chain).
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import AuditChain, AuditEvent
from audit.services import lock_chain

EVENT_BATCH = 2000


def cutoff_for(days: int | None = None):
    """Everything that happened strictly before this moment is past retention."""
    return timezone.now() - timedelta(days=days or settings.AUDIT_RETENTION_DAYS)


def expired_events(cutoff) -> int:
    return AuditEvent.objects.filter(occurred_at__lt=cutoff).count()


def _chains_with_expired_events(cutoff) -> list[int]:
    accounts = (
        AuditEvent.objects.filter(occurred_at__lt=cutoff)
        .order_by()
        .values_list("account_id", flat=True)
        .distinct()
    )
    return sorted(account or 0 for account in accounts)


def _purge_event_batch(chain_key: int, cutoff, batch_size: int) -> tuple[int, bool]:
    """Delete the oldest expired events of one chain; returns (deleted, more to do)."""
    with transaction.atomic():
        lock_chain(chain_key)  # record() waits for this short transaction, never the reverse
        oldest = AuditEvent.objects.for_chain(chain_key).values_list("id", "occurred_at", "hash")
        rows = list(oldest[:batch_size])
        # Stop at the first event (in chain order) still inside retention, so that what stays
        # is always an unbroken tail of the chain.
        expired = []
        for row in rows:
            if row[1] >= cutoff:
                break
            expired.append(row)
        if not expired:
            return 0, False
        AuditEvent.objects.filter(id__in=[row[0] for row in expired])._raw_delete(connection.alias)
        last_id, _, last_hash = expired[-1]
        AuditChain.objects.filter(account_key=chain_key).update(
            anchor_event_id=last_id,
            anchor_hash=last_hash,
            anchored_at=timezone.now(),
            purged_count=F("purged_count") + len(expired),
        )
    return len(expired), len(expired) == len(rows) == batch_size


def purge_events(*, cutoff, batch_size: int = EVENT_BATCH, progress=None) -> int:
    total = 0
    for chain_key in _chains_with_expired_events(cutoff):
        more = True
        while more:
            deleted, more = _purge_event_batch(chain_key, cutoff, batch_size)
            total += deleted
            if progress is not None:
                progress.update(deleted)
    return total

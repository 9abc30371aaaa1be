"""Flush the last-used buffer (``usage.lastused``): each credential kind's writer applies its records.

Run by the beat task ``usage.tasks.flush_usage`` every 30 seconds.
"""

import logging

from usage.lastused import UsageRecord, claim_spooled, merge, usage_buffer
from usage.writers import writer_for_prefix, writers

logger = logging.getLogger(__name__)


def usage_flush(*, buffer=None) -> dict[str, int]:
    """Write everything buffered since the last flush; returns what it did (for the task log):
    how many rows of each kind (``keys``, ``grants``) and how many alerts were queued."""
    buffer = buffer or usage_buffer()
    drained = buffer.drain()
    # Records spooled while Redis was unreachable join those of the buffer.
    spooled, spool_files = claim_spooled()
    records = merge([*drained, *spooled])
    by_prefix: dict[str, dict[int, UsageRecord]] = {w.prefix: {} for w in writers().values()}
    for record in records:
        prefix, _, ident = record.member.partition(":")
        if prefix in by_prefix and ident.isdigit():
            by_prefix[prefix][int(ident)] = record
    result = {writer.result_name: len(by_prefix[writer.prefix]) for writer in writers().values()}
    alerts = 0
    try:
        for prefix, kind_records in by_prefix.items():
            alerts += writer_for_prefix(prefix).write(kind_records)
    except Exception:
        # Batches that committed are simply flushed again (writes keep the newest time, alerts
        # are deduplicated); the ones that did not must not be lost.
        # Spooled records stay in their claimed files, taken again once the claim is stale.
        logger.exception("usage flush failed; %d records put back for the next run", len(records))
        buffer.restore(drained)
        raise
    for path in spool_files:
        path.unlink(missing_ok=True)
    return {**result, "alerts": alerts}

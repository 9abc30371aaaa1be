"""Flush the last-used buffer (``usage.lastused``): each credential kind's writer applies its records.

Run by the beat task ``usage.tasks.flush_usage`` every 30 seconds.
"""

import logging

from usage.lastused import UsageRecord, buffer, merge
from usage.writers import writer_for_prefix, writers

logger = logging.getLogger(__name__)


def usage_flush() -> dict[str, int]:
    """Write everything buffered since the last flush; returns what it did (for the task log):
    how many rows of each kind (``keys``, ``grants``) and how many alerts were queued."""
    result = {writer.result_name: 0 for writer in writers().values()}
    result["alerts"] = 0

    def write(taken: list[UsageRecord]) -> int:
        # Records spooled while Redis was unreachable arrive with Redis's: one record per member.
        records = merge(taken)
        by_prefix: dict[str, dict[int, UsageRecord]] = {w.prefix: {} for w in writers().values()}
        for record in records:
            prefix, _, ident = record.member.partition(":")
            if prefix in by_prefix and ident.isdigit():
                by_prefix[prefix][int(ident)] = record
        try:
            for prefix, kind_records in by_prefix.items():
                result["alerts"] += writer_for_prefix(prefix).write(kind_records)
        except Exception:
            # Batches that committed are simply flushed again (writes keep the newest time, alerts
            # are deduplicated); the buffer gives everything back for the next run.
            logger.exception("usage flush failed; %d records put back for the next run", len(taken))
            raise
        for writer in writers().values():
            result[writer.result_name] += len(by_prefix[writer.prefix])
        return len(records)

    # Redis required: the outage's spooled records wait until they can be merged with Redis's.
    buffer.flush(write, redis_required=True)
    return result

"""Checkpoints: each chain's head written down outside the database, and checked against it later.

A keyed chain stops a database writer from altering an event unnoticed, but not from cutting the
newest events and moving the head back, or cutting older events and moving the retention anchor.
``verify_audit_log`` prints one line per chain head::

    audit-checkpoint v1 chain=12 event=3456 at=2026-12-01T15:04:01.123456+00:00 hash=<64 hex>

Operators keep these lines elsewhere (a ticket, a log shipper, another machine). Later,
``verify_audit_log --checkpoint FILE`` proves the log still extends every head: the event is still
there with the same keyed hash (and the chain from it to today's head verifies), or it was removed
by retention — which only deletes events older than AUDIT_RETENTION_DAYS.
"""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from audit.models import AuditChain, AuditEvent, canonical_time
from audit.retention import cutoff_for

LINE = re.compile(
    r"^audit-checkpoint v1 chain=(?P<chain>\d+) event=(?P<event>\d+) "
    r"at=(?P<at>\S+) hash=(?P<hash>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Checkpoint:
    chain_key: int
    event_id: int
    at: datetime
    hash: str

    def line(self) -> str:
        return (
            f"audit-checkpoint v1 chain={self.chain_key} event={self.event_id} "
            f"at={canonical_time(self.at)} hash={self.hash}"
        )


def heads(chain_keys: list[int]) -> list[Checkpoint]:
    """Today's head of each chain that has one."""
    chains = AuditChain.objects.filter(account_key__in=chain_keys, head_event_id__isnull=False)
    chains = {chain.head_event_id: chain for chain in chains}
    moments = dict(AuditEvent.objects.filter(id__in=list(chains)).values_list("id", "occurred_at"))
    return [
        Checkpoint(chain.account_key, event_id, moments[event_id], chain.head_hash)
        for event_id, chain in sorted(chains.items(), key=lambda item: item[1].account_key)
        if event_id in moments  # a head purged by retention has nothing to anchor to
    ]


def parse(text: str) -> list[Checkpoint]:
    """The checkpoint lines of a file; other lines (the command's own OK line, notes) are skipped,
    so a saved run of verify_audit_log can be given back as it is."""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line.startswith("audit-checkpoint"):
            continue
        match = LINE.match(line)
        if not match:
            raise ValueError(f"line {number} is not an audit checkpoint: {line[:80]!r}")
        try:
            at = datetime.fromisoformat(match["at"])
        except ValueError:
            raise ValueError(f"line {number}: {match['at']!r} is not a time") from None
        found.append(Checkpoint(int(match["chain"]), int(match["event"]), at, match["hash"]))
    if not found:
        raise ValueError("it holds no audit-checkpoint line")
    return found


def check(checkpoint: Checkpoint) -> str:
    """ "" when the log still extends the checkpoint, else why not. The chain itself (from the
    checkpoint's event to today's head) is verified separately by audit.chain."""
    chain = AuditChain.objects.filter(account_key=checkpoint.chain_key).first()
    if chain is None:
        return "the chain no longer exists"
    event = (
        AuditEvent.objects.for_chain(checkpoint.chain_key)
        .filter(id=checkpoint.event_id)
        .values_list("hash", flat=True)
        .first()
    )
    if event is not None:
        if hmac.compare_digest(event, checkpoint.hash):
            return ""
        return "the event's hash differs from the checkpoint: the chain was rewritten"
    purged = chain.anchor_event_id is not None and checkpoint.event_id <= chain.anchor_event_id
    if not purged:
        return "the event is gone but retention never reached it: the chain was cut"
    if checkpoint.at >= cutoff_for():
        return "the event is gone although it is still inside retention: the chain was cut"
    if checkpoint.event_id == chain.anchor_event_id and not hmac.compare_digest(
        chain.anchor_hash, checkpoint.hash
    ):
        return "the retention anchor differs from the checkpoint: the chain was rewritten"
    return ""

"""Verification of the per-account hash chains (SPEC.md: "a command verifies the chain").

Each event's hash covers its content and the previous event's hash of the same account. Walking a
chain in id order (the order record() wrote it under the chain lock) finds:
- an altered row: its stored hash no longer matches its content;
- a deleted row: the next event's prev_hash no longer matches its predecessor's hash;
- an inserted row: the event after it chains to the event before it, or the row lies beyond the
  chain head that record() keeps in AuditChain;
- deleted newest rows: the last event is not the chain head;
- deleted oldest rows (outside retention): the first event does not chain to the anchor that
  retention left behind.

The hashes are HMACs with a key from the environment (AUDIT_KEYS), so someone who can only write
to the database cannot re-hash an altered chain. What such a writer can still do — cut the newest
events and move the head back, or cut the oldest and move the anchor — is caught by checkpoints
(audit/checkpoints.py) kept outside the database.
"""

import hmac
from dataclasses import dataclass

from audit.models import AuditChain, AuditEvent, AuditKeyMissing


@dataclass(frozen=True)
class ChainBreak:
    chain_key: int
    event_id: int | None
    reason: str

    def __str__(self):
        chain = f"account {self.chain_key}" if self.chain_key else "events without an account"
        where = f"event #{self.event_id}" if self.event_id is not None else "end of chain"
        return f"{chain}: {where}: {self.reason}"


def chain_keys(account_id: int | None = None) -> list[int]:
    """Every chain to verify: the chain rows plus any account holding events but no chain row."""
    if account_id is not None:
        return [account_id]
    keys = set(AuditChain.objects.values_list("account_key", flat=True))
    keys.update(
        account or 0
        for account in AuditEvent.objects.order_by().values_list("account_id", flat=True).distinct()
    )
    return sorted(keys)


def verify_chain(chain_key: int, *, progress=None) -> ChainBreak | None:
    """The first break in one account's chain, or None when it is intact."""
    chain = AuditChain.objects.filter(account_key=chain_key).first()
    expected_prev = chain.anchor_hash if chain else ""
    head_id = chain.head_event_id if chain else None
    before_previous = None  # hash of the event before the previous one: spots an insertion
    previous_id = None
    last = None
    for event in AuditEvent.objects.for_chain(chain_key).iterator(chunk_size=5000):
        if progress is not None:
            progress.update(1)
        if head_id is None or event.id > head_id:
            return ChainBreak(
                chain_key,
                event.id,
                "lies beyond the chain head recorded by audit.record(): inserted outside it",
            )
        if event.prev_hash != expected_prev:
            if previous_id is None:
                reason = (
                    "does not chain to the retention anchor: older events were deleted "
                    "outside retention, or it was inserted before them"
                )
            elif before_previous is not None and event.prev_hash == before_previous:
                return ChainBreak(
                    chain_key,
                    previous_id,
                    f"was inserted: the next event #{event.id} chains to the event before it",
                )
            else:
                reason = (
                    f"its prev_hash does not match event #{previous_id}: an event between them "
                    f"was deleted, or #{previous_id} was altered and re-hashed"
                )
            return ChainBreak(chain_key, event.id, reason)
        if not event.hash_key_id:
            return ChainBreak(
                chain_key,
                event.id,
                "its hash is not keyed with an audit key: written outside record(), or its "
                "chain was already broken when chains were keyed (migration audit 0004)",
            )
        try:
            computed = event.compute_hash()
        except AuditKeyMissing as missing:
            return ChainBreak(
                chain_key,
                event.id,
                f"was keyed with audit key {missing.key_id!r}, which AUDIT_KEYS no longer holds "
                "(keep retired keys in AUDIT_KEYS, after the newest)",
            )
        if not hmac.compare_digest(computed, event.hash):
            return ChainBreak(chain_key, event.id, "its content does not match its hash: altered")
        before_previous, expected_prev, previous_id, last = (
            expected_prev,
            event.hash,
            event.id,
            event,
        )
    if last is None and (head_id is None or head_id == chain.anchor_event_id):
        return None  # no event yet, or retention removed all of them
    if last is None or last.id != head_id or last.hash != chain.head_hash:
        after = f"after event #{last.id}" if last else "of the chain"
        return ChainBreak(
            chain_key,
            last.id if last else None,
            f"the newest events {after} were deleted (the chain head is event #{head_id})",
        )
    return None


def verify_all(account_id: int | None = None, *, progress=None) -> list[ChainBreak]:
    """The first break of every broken chain (of one account when given)."""
    breaks = []
    for key in chain_keys(account_id):
        found = verify_chain(key, progress=progress)
        if found:
            breaks.append(found)
    return breaks

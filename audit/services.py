"""record(): the one way an audit event is written."""

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.models import ActorKind, AuditChain, AuditEvent, current_audit_key_id
from statuspool.credential_format import CREDENTIAL_PATTERN

MAX_USER_AGENT = 400
_FORBIDDEN_DETAIL_KEYS = {"key", "secret", "token", "password", "code", "client_secret", "raw"}


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where."""

    kind: str
    user: object | None = None
    email: str = ""
    label: str = ""
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls, label: str = "") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def from_request(cls, request, user=None) -> "Actor":
        """The dashboard user behind a request (or the given user, e.g. during login)."""
        from statuspool.client_ip import client_ip

        user = user if user is not None else getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        return cls(
            kind=ActorKind.USER,
            user=user,
            email=user.email if user else "",
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
        )


def _reject_whole_credentials(value) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _reject_whole_credentials(item)
    elif isinstance(value, list):
        for item in value:
            _reject_whole_credentials(item)
    elif isinstance(value, str) and CREDENTIAL_PATTERN.search(value):
        raise ValueError("audit details must never carry a whole credential")


def _clean_details(details: dict) -> dict:
    """JSON as the database will hand it back (so the hash survives the round trip), no secrets."""
    leaked = _FORBIDDEN_DETAIL_KEYS & {str(key).lower() for key in details}
    if leaked:
        raise ValueError(f"audit details must never carry secrets: {sorted(leaked)}")
    cleaned = json.loads(json.dumps(details, cls=DjangoJSONEncoder))
    _reject_whole_credentials(cleaned)
    return cleaned


def lock_chain(chain_key: int) -> str:
    """Lock the account's chain row (created on first use) and return the hash of its head.

    One upsert both serialises writers of the chain (the row stays locked until the change's
    transaction ends) and reads the head, on PostgreSQL and SQLite alike, so concurrent events
    cannot fork the chain.
    """
    table = connection.ops.quote_name(AuditChain._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_key, head_hash, anchor_hash, purged_count) "  # noqa: S608  # nosec B608  # table name from model meta, values are bound parameters
            "VALUES (%s, '', '', 0) "
            "ON CONFLICT (account_key) DO UPDATE SET account_key = EXCLUDED.account_key "
            "RETURNING head_hash",
            [chain_key],
        )
        return cursor.fetchone()[0]


def record(
    *,
    action: str,
    actor: Actor,
    account=None,
    target=None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the account's chain. Must run inside the change's own transaction."""
    from statuspool.client_ip import normalise

    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the transaction it records")
    details = _clean_details(details or {})
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:200]
    account_id = getattr(account, "pk", account)
    chain_key = account_id or 0
    previous = lock_chain(chain_key)
    event = AuditEvent(
        occurred_at=timezone.now(),
        account_id=account_id,
        actor=actor.user,
        actor_email=actor.email or (actor.user.email if actor.user else ""),
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        ip=normalise(actor.ip) if actor.ip else None,
        user_agent=(actor.user_agent or "")[:MAX_USER_AGENT],
        action=action,
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        target_label=target_label[:200],
        details=details,
        prev_hash=previous,
        hash_key_id=current_audit_key_id(),
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    AuditChain.objects.filter(account_key=chain_key).update(
        head_event_id=event.pk, head_hash=event.hash
    )
    return event


__all__ = ["Actor", "ActorKind", "record", "transaction"]

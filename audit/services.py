"""record(): the one way an audit event is written."""

from dataclasses import dataclass

from django.db import connection, transaction

from audit.models import ActorKind, AuditEvent

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
        from statuspool.api.client_ip import client_ip

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


def _lock_chain(account_id) -> None:
    """Serialise writers of one account's chain so concurrent events cannot fork it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [4242, account_id or 0])
    # SQLite serialises writers of the whole database already.


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
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the transaction it records")
    details = details or {}
    leaked = _FORBIDDEN_DETAIL_KEYS & set(details)
    if leaked:
        raise ValueError(f"audit details must never carry secrets: {sorted(leaked)}")
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:200]
    account_id = getattr(account, "pk", account)
    _lock_chain(account_id)
    previous = (
        AuditEvent.objects.filter(account_id=account_id)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    )
    event = AuditEvent(
        account_id=account_id,
        actor=actor.user,
        actor_email=actor.email or (actor.user.email if actor.user else ""),
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        ip=actor.ip,
        user_agent=(actor.user_agent or "")[:MAX_USER_AGENT],
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        details=details,
        prev_hash=previous or "",
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


__all__ = ["Actor", "ActorKind", "record", "transaction"]

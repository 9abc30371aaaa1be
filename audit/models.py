"""The audit trail: append-only, hash-chained per account (SPEC.md "Audit trail").

The request log of /v2 calls is ``usage.models.RequestLog``."""

import hashlib
import hmac
import ipaddress
import json
from datetime import UTC

from django.conf import settings
from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    OAUTH_APP = "oauth_app", "OAuth application"
    SYSTEM = "system", "System"


class AuditKeyMissing(Exception):
    """An event was keyed with an AUDIT_KEYS id the environment no longer holds."""

    def __init__(self, key_id: str):
        super().__init__(f"audit key {key_id!r} is not in AUDIT_KEYS")
        self.key_id = key_id


def current_audit_key_id() -> str:
    return next(iter(settings.AUDIT_KEYS))


class AppendOnlyError(Exception):
    """Audit events are never changed or deleted through the ORM (retention has its own path)."""


def canonical_ip(value) -> str | None:
    """One spelling per address, whatever the database hands back (inet vs. text)."""
    if not value:
        return None
    return str(ipaddress.ip_address(str(value)))


def canonical_time(value) -> str:
    """UTC, always with microseconds: the same string before saving and after reading back."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class AuditEventQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)

    def for_chain(self, chain_key: int):
        """Events of one chain, in chain order (account id; 0 = events without an account)."""
        if chain_key:
            return self.filter(account_id=chain_key).order_by("id")
        return self.filter(account__isnull=True).order_by("id")

    def newest_first(self):
        return self.order_by("-occurred_at", "-id")

    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted; use audit.retention")


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Not a foreign key with cascade: the trail outlives what it describes. Indexed only through
    # the composite indexes below, which all start with the account.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_email = models.CharField(max_length=254, blank=True)  # kept after the user is deleted
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=200, blank=True)  # e.g. key public id, app name
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Tamper evidence: hash of this event's content and the previous event's hash (same account).
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # Which AUDIT_KEYS entry keyed the hash (HMAC-SHA256). "" marks an unkeyed SHA-256 hash from
    # before keyed chains; migration 0004 re-keyed intact chains and verification refuses it.
    hash_key_id = models.CharField(max_length=16, blank=True, default="", db_default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The Audit Log page and /v2/audit-log: newest first, keyset on (occurred_at, id).
            models.Index(fields=["account", "-occurred_at", "-id"], name="audit_account_time"),
            models.Index(
                fields=["account", "action", "-occurred_at", "-id"], name="audit_account_action"
            ),
            models.Index(
                fields=["account", "actor_email", "-occurred_at", "-id"], name="audit_account_actor"
            ),
            models.Index(
                fields=["account", "target_type", "target_id"], name="audit_account_target"
            ),
            models.Index(
                fields=["account", "actor_kind", "actor_label"], name="audit_account_actor_label"
            ),
            # Chain order, for verification and for retention's oldest-first walk.
            models.Index(fields=["account", "id"], name="audit_account_chain"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_email or self.actor_kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted; use audit.retention")

    @property
    def chain_key(self) -> int:
        return self.account_id or 0

    def canonical_content(self) -> bytes:
        """The fields the hash covers, serialised so that a read-back row hashes the same."""
        content = {
            "occurred_at": canonical_time(self.occurred_at),
            "account": self.account_id,
            "actor_email": self.actor_email,
            "actor_kind": self.actor_kind,
            "actor_label": self.actor_label,
            "ip": canonical_ip(self.ip),
            "user_agent": self.user_agent,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "details": self.details,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        """HMAC-SHA256 with the audit key named by ``hash_key_id`` over that id, the previous
        hash and the content. The key lives only in the environment, so a database writer who
        alters an event cannot compute a hash that verifies (audit/chain.py)."""
        message = self.prev_hash.encode() + b"|" + self.canonical_content()
        if not self.hash_key_id:
            return hashlib.sha256(message).hexdigest()  # unkeyed: never accepted by verification
        key = settings.AUDIT_KEYS.get(self.hash_key_id)
        if key is None:
            raise AuditKeyMissing(self.hash_key_id)
        return hmac.new(key, self.hash_key_id.encode() + b"|" + message, hashlib.sha256).hexdigest()


class AuditChain(models.Model):
    """One row per account's chain: the row writers lock, the chain's head and its anchor.

    The head (last event written by record()) makes the removal of the newest events and rows
    appended outside record() detectable; the anchor is the hash of the last event retention
    deleted, which the first remaining event must chain to.
    """

    account_key = models.BigIntegerField(primary_key=True)  # account id; 0 = no account
    head_event_id = models.BigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)
    anchor_event_id = models.BigIntegerField(null=True, blank=True)
    anchor_hash = models.CharField(max_length=64, blank=True)
    anchored_at = models.DateTimeField(null=True, blank=True)
    purged_count = models.BigIntegerField(default=0)

    def __str__(self):
        return f"Audit chain of account {self.account_key or '(none)'}"

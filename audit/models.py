"""The audit trail: append-only, hash-chained per account (SPEC.md "Audit trail")."""

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    OAUTH_APP = "oauth_app", "OAuth application"
    SYSTEM = "system", "System"


class AppendOnlyError(Exception):
    """Audit events are never changed or deleted through the ORM (retention has its own path)."""


class AuditEventQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)

    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted; use audit.retention")


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Not a foreign key with cascade: the trail outlives what it describes.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
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
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Tamper evidence: hash of this event's content and the previous event's hash (same account).
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-occurred_at", "-id"], name="audit_account_time"),
            models.Index(fields=["account", "action", "-occurred_at"], name="audit_account_action"),
            models.Index(
                fields=["account", "target_type", "target_id"], name="audit_account_target"
            ),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_email or self.actor_kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted; use audit.retention")

    def canonical_content(self) -> bytes:
        """The fields the hash covers, in a stable serialisation."""
        content = {
            "occurred_at": self.occurred_at.isoformat(),
            "account": self.account_id,
            "actor_email": self.actor_email,
            "actor_kind": self.actor_kind,
            "actor_label": self.actor_label,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "details": self.details,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.prev_hash.encode() + b"|" + self.canonical_content()).hexdigest()

"""The email outbox: a row per email, written in the transaction of the event that causes it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    to = models.JSONField(help_text="List of recipient addresses.")
    template = models.CharField(
        max_length=100, help_text="notifications/email/<template>.{txt,html}"
    )
    subject = models.CharField(max_length=200)
    context = models.JSONField(default=dict, blank=True)
    # Deduplicates emails that must go out once only (e.g. one usage alert per key and hour).
    dedup_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)} ({self.status})"


class SecurityNotificationOptOut(models.Model):
    """A kind of security notification (``security_kinds.KINDS``) a user chose not to receive.

    Stored as opt-outs so a kind added later reaches everyone until they turn it off.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_optouts"
    )
    kind = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_optout_per_user_and_kind")
        ]

    def __str__(self):
        return f"{self.user_id} opted out of {self.kind}"

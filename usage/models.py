"""What a /v2 request leaves behind in the database: the request log."""

from django.db import models


class RequestLogQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)

    def for_api_key(self, key):
        return self.filter(credential_kind="api_key", credential_id=key.pk)

    def between(self, since=None, until=None):
        queryset = self
        if since is not None:
            queryset = queryset.filter(occurred_at__gte=since)
        if until is not None:
            queryset = queryset.filter(occurred_at__lt=until)
        return queryset


class RequestLog(models.Model):
    """One /v2 request made with a credential. Written in bulk from a buffer, never inline."""

    id = models.BigAutoField(primary_key=True)
    # The buffer entry's id (usage.requestlog): one row per request even when its entry reached
    # the database twice. Null for rows written before it existed.
    entry_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # requestlog_account_time starts with it
        related_name="+",
    )
    credential_kind = models.CharField(max_length=16)  # statuspool.api.credentials.CredentialKind
    credential_id = models.BigIntegerField()
    credential_label = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)  # path only: query strings may carry secrets
    status = models.PositiveSmallIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    objects = RequestLogQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["credential_kind", "credential_id", "-occurred_at", "-id"],
                name="requestlog_credential_time",
            ),
            models.Index(fields=["account", "-occurred_at"], name="requestlog_account_time"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} → {self.status}"

"""What a /v2 request leaves behind in the database: the request log and its usage rollups.

The rollups (per credential and hour, and per day) are written by the request log's flush
(``usage.rollups``) in the transaction that inserts the rows they count; charts read them
(``usage.insight``), never the raw log.
"""

from django.db import models

from usage.ipnetworks import InNetwork


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
    # The OAuth grant an access token belongs to (tokens rotate on refresh, the grant stays): the
    # rows of one Connected Application. Null for API keys and rows older than the column.
    authorization_id = models.BigIntegerField(null=True, blank=True)
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
            models.Index(
                fields=["authorization_id", "-occurred_at"],
                name="requestlog_authorization_time",
                condition=models.Q(authorization_id__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} → {self.status}"


# --- rollups ----------------------------------------------------------------------------------
class RollupKind:
    """What a rollup is keyed by: the credential a person recognises, not what authenticated."""

    API_KEY = "api_key"  # credential_id is ApiKey.pk
    # credential_id is the OAuth Authorization (grant) pk: its access tokens rotate on refresh.
    OAUTH_AUTHORIZATION = "oauth_authorization"


# Upper bounds (ms, inclusive) of the latency histogram's buckets, roughly log-spaced; one more
# bucket counts everything slower than the last bound. A percentile is reported as the upper
# bound of the bucket it falls in (so it is never under-stated by more than one bucket).
LATENCY_BOUNDS_MS = (
    5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750,
    1000, 1500, 2000, 3000, 5000, 10000, 30000,
)  # fmt: skip


class UsageRollup(models.Model):
    """Requests of one credential in one period (an hour or a UTC day), counted once each."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # each table's (account, start) index starts with it
        related_name="+",
    )
    credential_kind = models.CharField(max_length=24)  # RollupKind.*
    credential_id = models.BigIntegerField()
    # The newest label seen: the account page still names a credential after it is deleted.
    credential_label = models.CharField(max_length=200, blank=True)
    start = models.DateTimeField()  # UTC, the period's first instant
    requests = models.PositiveIntegerField(default=0)
    ok = models.PositiveIntegerField(default=0)  # 1xx, 2xx, 3xx
    client_errors = models.PositiveIntegerField(default=0)  # 4xx except 429
    rate_limited = models.PositiveIntegerField(default=0)  # 429
    server_errors = models.PositiveIntegerField(default=0)  # 5xx (and anything out of range)
    reads = models.PositiveIntegerField(default=0)  # GET, HEAD, OPTIONS
    writes = models.PositiveIntegerField(default=0)
    # Counts per LATENCY_BOUNDS_MS bucket (len(LATENCY_BOUNDS_MS) + 1 of them).
    latency = models.JSONField(default=list)
    # The busiest minute of the period (reads and writes separately, as plan limits count them).
    read_peak = models.PositiveIntegerField(default=0)
    write_peak = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.credential_kind}:{self.credential_id} {self.start:%Y-%m-%d %H:%M} {self.requests}"


class HourlyUsage(UsageRollup):
    # Requests per minute of the hour (60 counts each): merged at every flush into the peaks.
    minute_reads = models.JSONField(default=list)
    minute_writes = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_kind", "credential_id", "start"], name="hourlyusage_key"
            )
        ]
        indexes = [models.Index(fields=["account", "start"], name="hourlyusage_account_start")]


class DailyUsage(UsageRollup):
    """The same counts per UTC day, for the 7/30/90-day windows (24 times fewer rows to read)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_kind", "credential_id", "start"], name="dailyusage_key"
            )
        ]
        indexes = [models.Index(fields=["account", "start"], name="dailyusage_account_start")]


# Per credential-hour caps of the two detail tables (usage.rollups folds what is over them).
ENDPOINTS_PER_HOUR = 50
CLIENTS_PER_HOUR = 50
OTHER_PATHS = "(other paths)"  # the path of the row counting endpoints over the cap


class HourlyEndpoint(models.Model):
    """Requests per method and path of one credential in one hour. The first ENDPOINTS_PER_HOUR
    distinct endpoints of the hour get their own row; later ones are counted in one row with
    method "" and path OTHER_PATHS, so the table stays bounded when paths carry ids."""

    credential_kind = models.CharField(max_length=24)
    credential_id = models.BigIntegerField()
    start = models.DateTimeField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)  # 4xx (429 included) and 5xx

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_kind", "credential_id", "start", "method", "path"],
                name="hourlyendpoint_key",
            )
        ]

    def __str__(self):
        return f"{self.start:%Y-%m-%d %H:%M} {self.method} {self.path} {self.requests}"


class HourlyClient(models.Model):
    """Requests per client address (with its country) of one credential in one hour. The first
    CLIENTS_PER_HOUR addresses of the hour get their own row; later ones are counted per country
    in rows with ip "", so the set of countries stays exact while the table stays bounded."""

    credential_kind = models.CharField(max_length=24)
    credential_id = models.BigIntegerField()
    start = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True)  # "" for the addresses over the cap
    country = models.CharField(max_length=2, blank=True)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_kind", "credential_id", "start", "ip", "country"],
                name="hourlyclient_key",
            )
        ]

    def __str__(self):
        return f"{self.start:%Y-%m-%d %H:%M} {self.ip or 'other'} {self.country} {self.requests}"


# ``RequestLog.objects.filter(ip__in_network="203.0.113.0/24")`` (usage.search's address filter).
RequestLog._meta.get_field("ip").register_lookup(InNetwork)

"""What StatusPool monitors: checks, their daily uptime, incidents, and who gets alerted how."""

import uuid
from datetime import date, timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from statuspool.crypto import EncryptedTextField


class AccountScopedQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)


UPTIME_WINDOW_DAYS = 90


def uptime_window(today: date | None = None) -> tuple[date, date]:
    """The first and last UTC day of the uptime history shown for a monitor (both included)."""
    today = today or timezone.now().date()
    return today - timedelta(days=UPTIME_WINDOW_DAYS - 1), today


class MonitorQuerySet(AccountScopedQuerySet):
    def with_open_incident(self):
        """Annotate ``has_open_incident`` in the same query (the list shows it for every row)."""
        open_incidents = Incident.objects.filter(
            monitor=OuterRef("pk"), status=Incident.Status.OPEN
        )
        return self.annotate(has_open_incident=Exists(open_incidents))

    def with_recent_uptime(self, since: date):
        """Prefetch the uptime rows from ``since`` on, oldest first, as ``recent_uptime_days``."""
        days = UptimeDay.objects.filter(day__gte=since).order_by("day")
        return self.prefetch_related(
            Prefetch("uptime_days", queryset=days, to_attr="recent_uptime_days")
        )


class Monitor(models.Model):
    class Method(models.TextChoices):
        GET = "GET"
        HEAD = "HEAD"
        POST = "POST"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="monitors"
    )
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.GET)
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(30), MaxValueValidator(86400)]
    )
    timeout_seconds = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    expected_status = models.PositiveSmallIntegerField(
        default=200, validators=[MinValueValidator(100), MaxValueValidator(599)]
    )
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MonitorQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def current_status(self) -> str:
        """ "paused", "down" (an incident is open) or "up".

        Uses the ``has_open_incident`` annotation when the queryset added it (lists), else asks.
        """
        if self.paused:
            return "paused"
        has_open = getattr(self, "has_open_incident", None)
        if has_open is None:
            has_open = self.incidents.filter(status=Incident.Status.OPEN).exists()
        return "down" if has_open else "up"


class UptimeDay(models.Model):
    """One monitor's results for one UTC day."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="uptime_days")
    day = models.DateField()
    checks = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    avg_response_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "day"], name="one_uptime_row_per_day")
        ]

    def __str__(self):
        return f"{self.monitor_id} on {self.day}"

    @property
    def uptime_percent(self) -> float:
        if not self.checks:
            return 100.0
        return round(100.0 * (self.checks - self.failures) / self.checks, 3)


class Incident(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="incidents"
    )
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="incidents")
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.monitor}: {self.cause}"

    @property
    def duration(self) -> timedelta:
        """How long the incident lasted, or has lasted so far while it is open."""
        return (self.resolved_at or timezone.now()) - self.started_at


class NotificationChannel(models.Model):
    """Where alerts go. The credential (webhook URL, routing key) is encrypted and write-only."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack webhook"
        WEBHOOK = "webhook", "Webhook"
        PAGERDUTY = "pagerduty", "PagerDuty"

    # A UUID known before the first save: the encrypted secret is bound to this row's id.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="notification_channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Email address for email channels; empty for the others (their target is the secret).
    address = models.EmailField(blank=True)
    secret = EncryptedTextField(blank=True, null=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def has_secret(self) -> bool:
        return bool(self.__dict__.get("secret"))


class AlertRuleQuerySet(AccountScopedQuerySet):
    def applying_to(self, monitor):
        """Rules of the monitor's account that name this monitor or cover every monitor."""
        return self.filter(account_id=monitor.account_id).filter(
            Q(monitor=monitor) | Q(monitor__isnull=True)
        )


class AlertRule(models.Model):
    class Condition(models.TextChoices):
        DOWN = "down", "Monitor is down"
        SLOW = "slow", "Response slower than threshold"
        SSL_EXPIRY = "ssl_expiry", "TLS certificate expires soon"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=100)
    monitor = models.ForeignKey(
        Monitor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        help_text="Empty: applies to every monitor of the account.",
    )
    condition = models.CharField(max_length=16, choices=Condition.choices, default=Condition.DOWN)
    threshold = models.PositiveIntegerField(
        default=1,
        help_text="Consecutive failures, milliseconds, or days, depending on the condition.",
    )
    channels = models.ManyToManyField(NotificationChannel, related_name="alert_rules", blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AlertRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def condition_summary(self) -> str:
        """The condition with its threshold in words, since the threshold's unit depends on it."""
        if self.condition == self.Condition.SLOW:
            return f"Responses slower than {self.threshold} ms"
        if self.condition == self.Condition.SSL_EXPIRY:
            return f"TLS certificate expires within {self.threshold} days"
        if self.threshold == 1:
            return "Down after 1 failed check"
        return f"Down after {self.threshold} consecutive failed checks"


class AlertDispatch(models.Model):
    """One alert sent (or attempted) to one channel."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="alert_dispatches"
    )
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, related_name="dispatches"
    )
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.SET_NULL, null=True, related_name="dispatches"
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, related_name="dispatches"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT)
    detail = models.CharField(max_length=200, blank=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self):
        return f"Dispatch {self.pk} ({self.status})"

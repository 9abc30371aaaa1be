"""API keys: stored as a public id and a keyed digest, never as plaintext."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from statuspool import api_key_format
from statuspool.crypto import digest_matches, keyed_digest

DEFAULT_KEY_NAME = "Default key"
EXPIRY_BADGE_DAYS = 7
DEFAULT_KEY_SCOPES = ["monitors:read", "alerts:read"]


class Status(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"


class ApiKeyQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)

    def not_revoked(self):
        return self.exclude(status=Status.REVOKED)

    def live(self, now=None):
        """Keys that still exist for the dashboard: not revoked, not past their rotation grace,
        not past their expiry date."""
        now = now or timezone.now()
        return self.not_revoked().exclude(grace_ends_at__lte=now).exclude(expires_at__lte=now)

    def counting_toward_limit(self, now=None):
        """Live keys, except a rotation's replacement while its predecessor is still in its grace
        period (the pair counts once)."""
        now = now or timezone.now()
        winding_down = ApiKey.objects.filter(status=Status.ACTIVE, grace_ends_at__gt=now)
        return self.live(now).exclude(rotated_from__in=winding_down)

    def with_creator_membership(self):
        """Annotate ``creator_is_member``: the creator still belongs to the key's account.

        A removed person's keys stay with the account; the dashboard and /v2 flag them as
        "created by a former member" so admins can review them.
        """
        from statuspool.accounts.models import Membership

        return self.annotate(
            creator_is_member=Exists(
                Membership.objects.filter(account=OuterRef("account"), user=OuterRef("created_by"))
            )
        )

    def usable(self, now=None):
        now = now or timezone.now()
        return (
            self.filter(status=Status.ACTIVE)
            .filter(Q(grace_ends_at__isnull=True) | Q(grace_ends_at__gt=now))
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        )


class ApiKey(models.Model):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=64)
    public_id = models.CharField(max_length=api_key_format.PUBLIC_ID_LENGTH, unique=True)
    pepper_id = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_country = models.CharField(max_length=2, blank=True)
    # Resets the stale clock ("Keep active") without pretending the key was used.
    kept_active_at = models.DateTimeField(null=True, blank=True)
    stale_notified_at = models.DateTimeField(null=True, blank=True)
    suspension_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=500, blank=True)
    # Set on a rotated-out (or replaced) key that keeps working for a grace period.
    grace_ends_at = models.DateTimeField(null=True, blank=True)
    # The key's own expiry date, chosen at creation (None: it never expires by itself).
    expires_at = models.DateTimeField(null=True, blank=True)
    # The smallest "expires in N days" reminder already sent (7, then 1), so each goes out once.
    expiry_reminded_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the expiry job recorded (audited, notified) that the key had expired.
    expiry_recorded_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rotated_to"
    )
    # Enterprise: CIDR blocks the key may be used from; empty means anywhere.
    allowed_networks = models.JSONField(default=list, blank=True)
    usage_alerts_enabled = models.BooleanField(default=False)
    # Countries this key has been used from (ISO codes), for the "new geolocation" usage alert.
    seen_countries = models.JSONField(default=list, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "status"], name="apikey_account_status")]

    def __str__(self):
        return f"{self.name} ({api_key_format.display(self.public_id)})"

    # --- secret handling --------------------------------------------------------------------------
    def set_secret(self, raw: str) -> None:
        self.public_id = api_key_format.public_id_of(raw)
        self.pepper_id, self.digest = keyed_digest(raw)

    def matches(self, raw: str) -> bool:
        return digest_matches(raw, self.pepper_id, self.digest)

    # --- state ------------------------------------------------------------------------------------
    @property
    def display_id(self) -> str:
        return api_key_format.display(self.public_id)

    @property
    def created_by_former_member(self) -> bool:
        """Created by a person who has since left the account (needs ``with_creator_membership``)."""
        return self.created_by_id is not None and not getattr(self, "creator_is_member", True)

    @property
    def grace_ended(self) -> bool:
        """Rotated out and past its grace period."""
        return self.grace_ends_at is not None and self.grace_ends_at <= timezone.now()

    @property
    def is_expired(self) -> bool:
        """Past its own expiry date."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_live(self) -> bool:
        """Still listed among the account's keys (it may be suspended)."""
        return self.status != Status.REVOKED and not self.grace_ended and not self.is_expired

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE and not self.grace_ended and not self.is_expired

    @property
    def stops_working_at(self):
        """The earlier of the grace end and the expiry date, if any."""
        ends = [moment for moment in (self.grace_ends_at, self.expires_at) if moment]
        return min(ends) if ends else None

    @property
    def lifetime(self):
        """The expiry policy a rotation or replacement carries over (same length from then)."""
        return self.expires_at - self.created_at if self.expires_at else None

    @property
    def expires_soon(self) -> bool:
        """Under EXPIRY_BADGE_DAYS left: the list and the detail page show a badge."""
        if self.expires_at is None or not self.is_active:
            return False
        return self.expires_at - timezone.now() < timedelta(days=EXPIRY_BADGE_DAYS)

    @property
    def idle_since(self):
        """When the stale clock started: last use, keep-active or creation, whichever is latest."""
        return max(t for t in (self.created_at, self.last_used_at, self.kept_active_at) if t)

    @property
    def is_stale(self) -> bool:
        return self.is_active and timezone.now() - self.idle_since >= timedelta(
            days=settings.APIKEY_STALE_DAYS
        )

    @property
    def suspends_at(self):
        """APIKEY_SUSPEND_DAYS after the idle clock started (before any warning's notice)."""
        return self.idle_since + timedelta(days=settings.APIKEY_SUSPEND_DAYS)

    @property
    def warned_this_idle_cycle(self) -> bool:
        # A key used again after a warning starts a new idle cycle that deserves its own warning.
        return self.stale_notified_at is not None and self.stale_notified_at >= self.idle_since

    @property
    def suspends_on(self):
        """When the daily job suspends this key if it stays idle: ``suspends_at``, but never
        sooner than the reminder's notice after this idle cycle's warning."""
        if not self.warned_this_idle_cycle:
            return self.suspends_at
        notice = self.stale_notified_at + timedelta(days=settings.APIKEY_SUSPEND_REMINDER_DAYS)
        return max(self.suspends_at, notice)

    @property
    def suspension_overdue(self) -> bool:
        """Past ``suspends_on``: the next daily job suspends it unless it is used meanwhile."""
        return timezone.now() >= self.suspends_on

    @property
    def can_rotate(self) -> bool:
        """Active and not rotated yet: no grace period running and no replacement."""
        if not self.is_active or self.grace_ends_at is not None:
            return False
        try:
            self.rotated_to  # noqa: B018  (the reverse one-to-one: a query unless select_related)
        except ApiKey.rotated_to.RelatedObjectDoesNotExist:
            return True
        return False

    @property
    def rotation_recommended(self) -> bool:
        age = timezone.now() - self.created_at
        return self.is_active and age >= timedelta(days=settings.APIKEY_ROTATION_RECOMMENDED_DAYS)


class ApiKeyPolicy(models.Model):
    """An Enterprise account's rules for new keys, set by its owner (Settings → API Access → Key
    policy). Existing keys are never changed by it; the policy page lists those out of policy."""

    account = models.OneToOneField(
        "accounts.Account",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="api_key_policy",
    )
    # New keys must expire within this many days (None: no limit).
    max_lifetime_days = models.PositiveIntegerField(null=True, blank=True)
    require_allowlist = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self):
        return f"API key policy of account {self.account_id}"

    @property
    def is_set(self) -> bool:
        return bool(self.max_lifetime_days or self.require_allowlist)

    def violations(self, key: "ApiKey") -> list[str]:
        """Why an existing key would not be allowed today (empty: it complies)."""
        problems = []
        if self.max_lifetime_days:
            limit = timedelta(days=self.max_lifetime_days)
            if key.expires_at is None:
                problems.append("never expires")
            elif key.lifetime > limit + timedelta(minutes=1):
                problems.append(
                    f"lives {key.lifetime.days} days (policy: {self.max_lifetime_days})"
                )
        if self.require_allowlist and not key.allowed_networks:
            problems.append("no IP allowlist")
        return problems

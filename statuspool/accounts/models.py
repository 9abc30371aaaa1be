"""Users, the accounts (teams) they belong to, their roles, and their second factor."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

from statuspool import credential_format as tokens
from statuspool.crypto import EncryptedTextField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with email + password, then a TOTP code once 2FA is enrolled."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the operators' admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # IANA name; empty until the dashboard detects it once from the browser (shown as UTC till then).
    time_zone = models.CharField(max_length=64, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self):
        return self.email

    @property
    def has_2fa(self) -> bool:
        device = getattr(self, "totp_device", None)
        return device is not None and device.confirmed_at is not None

    def membership_in(self, account):
        return self.memberships.filter(account=account).first()


class Plan(models.TextChoices):
    TEAM = "team", "Team"
    ENTERPRISE = "enterprise", "Enterprise"


class AccountQuerySet(models.QuerySet):
    def by_id_or_name(self, value: str) -> "Account":
        """The account an operator named: its id, or else its exact name (``--account 3``,
        ``--account "Acme Monitoring"``).

        Raises ``Account.DoesNotExist`` / ``Account.MultipleObjectsReturned`` with a message fit
        to show as is (``CommandError(str(error))``).
        """
        if value.isdigit():
            account = self.filter(pk=int(value)).first()
            if account is not None:
                return account
        found = list(self.filter(name=value)[:2])
        if not found:
            raise self.model.DoesNotExist(f"No account with id or name {value!r}.")
        if len(found) > 1:
            raise self.model.MultipleObjectsReturned(
                f"Several accounts are named {value!r}; use the account id instead."
            )
        return found[0]


class Account(models.Model):
    """The customer: a team with a plan, an owner and members."""

    name = models.CharField(max_length=100)
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.TEAM)
    billing_email = models.EmailField()
    # Account policy: every member needs 2FA, not only the team admins (issue 15).
    require_2fa = models.BooleanField(
        default=False, help_text="Every member must enroll two-factor authentication."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def owner(self):
        membership = self.memberships.filter(role=Role.OWNER).select_related("user").first()
        return membership.user if membership else None

    @property
    def is_enterprise(self) -> bool:
        return self.plan == Plan.ENTERPRISE


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


TEAM_ADMIN_ROLES = (Role.OWNER, Role.ADMIN)


class MembershipQuerySet(models.QuerySet):
    def team_admins(self):
        return self.filter(role__in=TEAM_ADMIN_ROLES)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_account"),
            # "owner (exactly one)": the database refuses a second owner.
            models.UniqueConstraint(
                fields=["account"], condition=Q(role="owner"), name="one_owner_per_account"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def is_team_admin(self) -> bool:
        return self.role in TEAM_ADMIN_ROLES


class TOTPDevice(models.Model):
    """A user's authenticator app. The seed is encrypted at rest and bound to this row."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="totp_device"
    )
    secret = EncryptedTextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step whose code was accepted: a code of that step or earlier is a replay.
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"TOTP for {self.user_id}"


class RecoveryCode(models.Model):
    """One of ten single-use codes; only its keyed digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    pepper_id = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Recovery code of user {self.user_id} ({'used' if self.used_at else 'unused'})"

    @staticmethod
    def generate_plaintext() -> str:
        raw = secrets.token_hex(5)  # 40 bits each; ten of them, single use, rate limited at login
        return f"{raw[:5]}-{raw[5:]}"


INVITATION_PREFIX = "sp_inv_"
INVITATION_DAYS = 7
INVITABLE_ROLES = (Role.ADMIN, Role.MEMBER)  # ownership only moves by transfer
INVITABLE_ROLE_CHOICES = [(role.value, role.label) for role in INVITABLE_ROLES]


def invitation_digest(raw: str) -> str:
    # SHA-256 is enough for ~200 random bits: nothing to brute-force, and it allows an indexed lookup.
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        now = now or timezone.now()
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)

    def by_token(self, raw: str):
        """The pending invitation ``raw`` opens, or None (malformed, unknown, used, revoked, expired)."""
        if not tokens.is_well_formed(raw or "", INVITATION_PREFIX):
            return None
        return (
            self.pending()
            .select_related("account", "invited_by")
            .filter(token_digest=invitation_digest(raw))
            .first()
        )


class Invitation(models.Model):
    """An emailed, single-use link to join an account with a role. Only the link's digest is kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept even if the sender's user is deleted, like the audit trail's actor email.
    invited_by_email = models.EmailField(blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "email"], name="invitation_account_email")]

    def __str__(self):
        return f"Invitation of {self.email} to {self.account_id} ({self.role})"

    def set_new_token(self) -> str:
        """A fresh link (the old one stops working) valid for 7 days; returns the plaintext."""
        raw = tokens.generate(INVITATION_PREFIX)
        now = timezone.now()
        self.token_digest = invitation_digest(raw)
        self.sent_at = now
        self.expires_at = now + timedelta(days=INVITATION_DAYS)
        return raw

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class FailureCounter(models.Model):
    """One fixed window of a brute-force limit (statuspool/accounts/lockout.py): login per IP and
    per email, sudo per user, sign-ups per IP. Kept in the database so the limits hold while Redis
    is down; rows whose window ended are deleted by the beat task accounts.prune_failure_counters.

    ``subject`` is a SHA-256 digest of what is counted (an email address, an IP), not the value.
    """

    group = models.CharField(max_length=32)
    subject = models.CharField(max_length=64)
    window_start = models.BigIntegerField()  # epoch seconds
    window_end = models.BigIntegerField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "subject", "window_start"], name="one_counter_per_window"
            )
        ]

    def __str__(self):
        return f"{self.group} {self.subject[:12]}… {self.count}"

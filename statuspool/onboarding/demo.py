"""The demo account `make run` loads: Northwind Traders, with 90 days of believable monitoring data.

Everything is created in one transaction, so a failed run leaves nothing behind and a second run
finds the account and changes nothing. Randomness is seeded: two machines seeding on the same day
get the same history.
"""

import random
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pyotp
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from statuspool.accounts.models import Account, Membership, Plan, Role, TOTPDevice, User
from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
    uptime_window,
)
from statuspool.onboarding.services import account_create

DEMO_ACCOUNT_NAME = "Northwind Traders"
DEMO_OWNER_EMAIL = "demo@statuspool.local"
DEMO_PASSWORD = "statuspool-demo"  # nosec B105  # the published demo password; seed_demo refuses production
DEMO_PEOPLE = [
    # (email, full name, role, enrolled in 2FA)
    (DEMO_OWNER_EMAIL, "Dana Whitfield", Role.OWNER, True),
    ("priya@statuspool.local", "Priya Raman", Role.ADMIN, False),
    ("marco@statuspool.local", "Marco Rossi", Role.MEMBER, False),
]

# (name, URL, method, interval s, expected status, typical response ms, paused for the last N days)
MONITORS = [
    ("Public API", "https://api.northwind.example/health", "GET", 60, 200, 120, 0),
    ("Storefront", "https://www.northwind.example/", "GET", 60, 200, 340, 0),
    ("Checkout", "https://shop.northwind.example/checkout/health", "GET", 60, 200, 210, 0),
    ("Order webhooks", "https://hooks.northwind.example/v1/orders", "POST", 120, 202, 95, 0),
    ("Customer portal login", "https://portal.northwind.example/login", "HEAD", 300, 200, 180, 0),
    (
        "Legacy inventory sync",
        "https://inventory.northwind.example/status",
        "GET",
        600,
        200,
        800,
        20,
    ),
]

# (monitor, days ago, start hour UTC, minutes down, cause); days ago 0 with None minutes = still open.
INCIDENTS = [
    ("Customer portal login", 80, 9, 62, "Connection refused on port 443"),
    ("Checkout", 63, 2, 125, "TLS handshake failed: certificate has expired"),
    ("Public API", 41, 14, 47, "HTTP 503 Service Unavailable from the load balancer"),
    ("Storefront", 27, 18, 14, "DNS resolution failed (SERVFAIL)"),
    ("Public API", 12, 7, 8, "Timed out after 10 seconds"),
    ("Checkout", 3, 11, 22, "HTTP 500 Internal Server Error"),
    ("Order webhooks", 0, None, None, "Expected status 202, got 502 Bad Gateway"),
]
OPEN_INCIDENT_MINUTES = 35


@dataclass
class SeedResult:
    created: bool
    account: Account | None = None
    default_key: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def demo_account() -> Account | None:
    """The demo account, recognised by its name and its owner's email."""
    return Account.objects.filter(
        name=DEMO_ACCOUNT_NAME,
        memberships__user__email=DEMO_OWNER_EMAIL,
        memberships__role=Role.OWNER,
    ).first()


def seed_demo(*, now: datetime | None = None) -> SeedResult:
    """Create the demo account and its data unless it exists already."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = demo_account()
        if existing is not None:
            return SeedResult(created=False, account=existing)
        taken = [
            email for email, *_ in DEMO_PEOPLE if User.objects.filter(email__iexact=email).exists()
        ]
        if taken:
            raise ValueError(
                f"{', '.join(taken)} exists but is not part of “{DEMO_ACCOUNT_NAME}”; "
                "refusing to touch that user."
            )
        actor = Actor.system(label="manage.py seed_demo")
        people = _create_people(now)
        # The owner exists already, so account_create leaves their (demo-only) password alone.
        account, _owner, plaintext = account_create(
            name=DEMO_ACCOUNT_NAME, owner_email=DEMO_OWNER_EMAIL, plan=Plan.ENTERPRISE, actor=actor
        )
        account.billing_email = "billing@northwind.example"
        account.save(update_fields=["billing_email"])
        for user, role in people:
            if role != Role.OWNER:
                Membership.objects.create(user=user, account=account, role=role)
        monitors = _create_monitors(account, now)
        incidents = _create_incidents(account, monitors, now)
        days = _create_uptime(monitors, incidents, now)
        channels = _create_channels(account, now)
        rules = _create_rules(account, monitors, channels, now)
        dispatches = _create_dispatches(account, incidents, rules, channels)
    return SeedResult(
        created=True,
        account=account,
        default_key=plaintext,
        counts={
            "people": len(DEMO_PEOPLE),
            "monitors": len(monitors),
            "uptime days": days,
            "incidents": len(incidents),
            "notification channels": len(channels),
            "alert rules": len(rules),
            "alert dispatches": dispatches,
        },
    )


def _create_people(now: datetime) -> list[tuple[User, str]]:
    # Made directly rather than through the sign-up validators: the demo password is meant to
    # be easy to type, and the validators would rightly call it too close to the email.
    people = []
    for email, full_name, role, with_2fa in DEMO_PEOPLE:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
        if with_2fa:
            TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(), confirmed_at=now)
        people.append((user, role))
    return people


def _create_monitors(account: Account, now: datetime) -> dict[str, Monitor]:
    monitors = {}
    for name, url, method, interval, expected, _ms, paused_days in MONITORS:
        monitors[name] = Monitor.objects.create(
            account=account,
            name=name,
            url=url,
            method=method,
            interval_seconds=interval,
            timeout_seconds=10,
            expected_status=expected,
            paused=bool(paused_days),
            created_at=now - timedelta(days=120),
        )
    return monitors


def _create_incidents(account, monitors, now) -> list[Incident]:
    incidents = []
    today = now.date()
    for monitor_name, days_ago, hour, minutes, cause in INCIDENTS:
        if minutes is None:
            started = now - timedelta(minutes=OPEN_INCIDENT_MINUTES)
            resolved = None
        else:
            day = today - timedelta(days=days_ago)
            started = datetime.combine(day, time(hour, 13), tzinfo=now.tzinfo)
            resolved = started + timedelta(minutes=minutes)
        incidents.append(
            Incident.objects.create(
                account=account,
                monitor=monitors[monitor_name],
                started_at=started,
                resolved_at=resolved,
                cause=cause,
                status=Incident.Status.OPEN if resolved is None else Incident.Status.RESOLVED,
            )
        )
    return incidents


def _create_uptime(monitors, incidents, now) -> int:
    start, today = uptime_window(now.date())
    midnight = datetime.combine(today, time(0), tzinfo=now.tzinfo)
    seconds_today = max(int((now - midnight).total_seconds()), 60)
    rows = []
    for index, (name, *_rest, typical_ms, paused_days) in enumerate(MONITORS):
        monitor = monitors[name]
        rng = random.Random(  # nosec B311  # demo data shapes (uptime curve), not security
            f"northwind-{index}-{today.isoformat()}"
        )  # reproducible demo data, not secrets
        down_minutes = _down_minutes_by_day(monitor, incidents, now)
        last_day = today - timedelta(days=paused_days) if paused_days else today
        day = start
        while day <= last_day:
            span = seconds_today if day == today else 86400
            checks = max(span // monitor.interval_seconds, 1)
            # Healthy days still lose the odd check to a network blip (fewer checks, fewer blips).
            failures = 1 if rng.random() < 0.12 * 60 / monitor.interval_seconds else 0
            slow = 1.0
            if day in down_minutes:
                failures += down_minutes[day] * 60 // monitor.interval_seconds
                slow = 1.8
            rows.append(
                UptimeDay(
                    monitor=monitor,
                    day=day,
                    checks=checks,
                    failures=min(failures, checks),
                    avg_response_ms=int(typical_ms * slow * rng.uniform(0.85, 1.2)),
                )
            )
            day += timedelta(days=1)
    UptimeDay.objects.bulk_create(rows)
    return len(rows)


def _down_minutes_by_day(monitor, incidents, now) -> dict:
    minutes = {}
    for incident in incidents:
        if incident.monitor_id == monitor.pk:
            lasted = (incident.resolved_at or now) - incident.started_at
            day = incident.started_at.date()
            minutes[day] = minutes.get(day, 0) + int(lasted.total_seconds() // 60)
    return minutes


def _random_token(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _create_channels(account, now) -> dict[str, NotificationChannel]:
    upper = string.ascii_uppercase + string.digits
    team, hook = _random_token(8, upper), _random_token(10, upper)
    slack = f"https://hooks.slack.com/services/T{team}/B{hook}/{_random_token(24)}"
    specs = [
        ("email", "Ops email", NotificationChannel.Kind.EMAIL, "ops@northwind.example", None),
        ("slack", "#ops-alerts", NotificationChannel.Kind.SLACK, "", slack),
        (
            "webhook",
            "Deploy bot webhook",
            NotificationChannel.Kind.WEBHOOK,
            "",
            f"https://bots.northwind.example/statuspool?token={_random_token(32)}",
        ),
        (
            "pagerduty",
            "PagerDuty on-call",
            NotificationChannel.Kind.PAGERDUTY,
            "",
            secrets.token_hex(16),
        ),
    ]
    channels = {}
    for key, name, kind, address, secret in specs:
        # Saved one by one: the encrypted secret is bound to each row's id by the model field.
        channel = NotificationChannel(
            account=account, name=name, kind=kind, address=address, created_at=now
        )
        channel.secret = secret
        channel.save()
        channels[key] = channel
    return channels


def _create_rules(account, monitors, channels, now) -> dict[str, AlertRule]:
    specs = [
        (
            "down",
            "Production down",
            None,
            AlertRule.Condition.DOWN,
            2,
            ["slack", "pagerduty"],
            True,
        ),
        (
            "slow",
            "Checkout slow",
            "Checkout",
            AlertRule.Condition.SLOW,
            1500,
            ["slack", "email"],
            True,
        ),
        (
            "tls",
            "Certificates expiring",
            None,
            AlertRule.Condition.SSL_EXPIRY,
            14,
            ["email"],
            True,
        ),
        (
            "webhooks",
            "Order webhooks to deploy bot",
            "Order webhooks",
            AlertRule.Condition.DOWN,
            3,
            ["webhook"],
            False,
        ),
    ]
    rules = {}
    for key, name, monitor_name, condition, threshold, channel_keys, enabled in specs:
        rule = AlertRule.objects.create(
            account=account,
            name=name,
            monitor=monitors[monitor_name] if monitor_name else None,
            condition=condition,
            threshold=threshold,
            enabled=enabled,
            created_at=now - timedelta(days=100),
        )
        rule.channels.set([channels[k] for k in channel_keys])
        rules[key] = rule
    return rules


def _create_dispatches(account, incidents, rules, channels) -> int:
    """What "Production down" sent for each incident; PagerDuty once refused an event."""
    details = {
        "slack": "Slack accepted the message (HTTP 200)",
        "pagerduty": "PagerDuty queued the event (HTTP 202)",
    }
    rows = []
    for number, incident in enumerate(incidents):
        for key in ("slack", "pagerduty"):
            failed = key == "pagerduty" and number == 2
            rows.append(
                AlertDispatch(
                    account=account,
                    rule=rules["down"],
                    channel=channels[key],
                    incident=incident,
                    sent_at=incident.started_at + timedelta(minutes=2),
                    status=AlertDispatch.Status.FAILED if failed else AlertDispatch.Status.SENT,
                    detail="PagerDuty rejected the event (HTTP 429), retried by the next alert"
                    if failed
                    else details[key],
                )
            )
    AlertDispatch.objects.bulk_create(rows)
    return len(rows)

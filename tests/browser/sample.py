"""One account with something in every state, for the every-page check (test_every_page.py).

The demo data (monitors, incidents, 90 days of uptime, people) plus API keys in each state the list
shows (active, stale and due for rotation, suspended, rotated out with an expiry, revoked), an OAuth
application with a grant, long email addresses and user agents in the Audit Log, and requests made
with a key. Long values are on purpose: they are what breaks tables.
"""

from dataclasses import dataclass
from datetime import timedelta

import pyotp
from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.replacement import apikey_rotate
from apikeys.services import apikey_create, apikey_revoke, apikey_suspend
from audit.services import Actor, record
from oauthapps import services as oauth_services
from oauthapps.models import Application, Authorization
from statuspool.accounts.models import Account, Membership, Role, TOTPDevice, User
from statuspool.monitoring.models import Monitor
from statuspool.onboarding.demo import DEMO_OWNER_EMAIL, seed_demo
from statuspool.scopes import SCOPES
from usage import rollups
from usage.models import RequestLog

LONG_EMAIL = "maximilian.schwarzenberger-lindqvist@operations.northwind-traders.example"
LONG_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15 statuspool-terraform-provider/2.14.0"
)
# The zone the pages are looked at in: far from UTC, with a daylight-saving abbreviation.
TIME_ZONE = "America/New_York"


@dataclass
class Sample:
    account: Account
    owner: User
    member: User
    newcomer: User  # no 2FA yet
    key: ApiKey  # active, used, with an IP allowlist form to look at
    stale_key: ApiKey
    suspended_key: ApiKey
    rotated_key: ApiKey  # rotated out, still working for a while
    revoked_key: ApiKey
    application: Application
    authorization: Authorization
    monitor: Monitor


def _with_2fa(user: User) -> User:
    TOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32(), "confirmed_at": timezone.now()}
    )
    return user


def _requests(key: ApiKey, now, *, authorization: Authorization | None = None) -> None:
    """30 requests over the last few hours and 6 on each of the six days before (the charts'
    week), added to the rollups as the flush would."""
    paths = ["/v2/monitors", "/v2/incidents?page=2", "/v2/audit-log", "/v2/monitors/1/uptime"]
    ages = [timedelta(minutes=7 * n) for n in range(30)]
    ages += [timedelta(days=day, minutes=11 * n) for day in range(1, 7) for n in range(6)]
    rows = RequestLog.objects.bulk_create(
        RequestLog(
            occurred_at=now - age,
            account=key.account,
            credential_kind="oauth_token" if authorization else "api_key",
            credential_id=authorization.pk if authorization else key.pk,
            authorization_id=authorization.pk if authorization else None,
            credential_label=authorization.application.name if authorization else key.display_id,
            method="GET" if n % 5 else "POST",
            path=paths[n % len(paths)].split("?")[0],
            status=200 if n % 7 else 429,
            ip="203.0.113.7" if n % 3 else "2001:db8:85a3:8d3:1319:8a2e:370:7348",
            country="DE" if n % 3 else "US",
            user_agent=LONG_AGENT,
            duration_ms=12 + n,
        )
        for n, age in enumerate(ages)
    )
    rollups.record(rows)


def build_sample() -> Sample:
    with transaction.atomic():
        return _build(timezone.now())


def _build(now) -> Sample:
    seed_demo(now=now)
    owner = _with_2fa(User.objects.get(email=DEMO_OWNER_EMAIL))
    account = Account.objects.get(memberships__user=owner)
    member = Membership.objects.filter(account=account, role=Role.MEMBER).first().user
    long_named = User.objects.create_user(LONG_EMAIL, "unused password 1234", full_name="Max S.-L.")
    Membership.objects.create(user=long_named, account=account, role=Role.ADMIN)
    newcomer = User.objects.create_user("newcomer@statuspool.local", "unused password 1234")
    Membership.objects.create(user=newcomer, account=account, role=Role.MEMBER)
    User.objects.update(time_zone=TIME_ZONE)

    actor = Actor(
        kind="user", user=long_named, email=LONG_EMAIL, ip="198.51.100.23", user_agent=LONG_AGENT
    )
    all_scopes = list(SCOPES)
    revoked, _ = apikey_create(
        account=account,
        name="Old laptop script",
        scopes=["monitors:read"],
        actor=actor,
        created_by=long_named,
    )
    apikey_revoke(
        key=revoked,
        actor=actor,
        reason="Laptop was replaced; key no longer needed",
        revoked_by=long_named,
    )
    deploy, _ = apikey_create(
        account=account,
        name="Deploy pipeline (production eu-west-1)",
        scopes=all_scopes,
        actor=actor,
        created_by=long_named,
    )
    _new, _ = apikey_rotate(key=deploy, actor=actor, expire_old_in="7d", created_by=owner)
    stale, _ = apikey_create(
        account=account,
        name="Grafana dashboard sync",
        scopes=["monitors:read", "alerts:read"],
        actor=actor,
        created_by=owner,
    )
    ApiKey.objects.filter(pk=stale.pk).update(
        created_at=now - timedelta(days=120),
        last_used_at=now - timedelta(days=75),
        last_used_ip="198.51.100.23",
        last_used_country="NL",
    )
    suspended, _ = apikey_create(
        account=account,
        name="Status page widget",
        scopes=["monitors:read"],
        actor=actor,
        created_by=owner,
    )
    apikey_suspend(
        key=suspended,
        actor=Actor.system("apikeys.tasks.suspend_stale_keys"),
        reason="Not used for 90 days",
    )
    key = ApiKey.objects.get(account=account, name="Default key")
    ApiKey.objects.filter(pk=key.pk).update(
        last_used_at=now - timedelta(hours=3),
        last_used_ip="2001:db8:85a3:8d3:1319:8a2e:370:7348",
        last_used_country="US",
    )
    _requests(key, now)
    for n in range(3):
        record(
            action="auth.login",
            actor=actor,
            account=account,
            target=long_named,
            target_label=LONG_EMAIL,
            details={"method": "totp", "attempt": n},
        )

    application, _secret = oauth_services.application_register(
        account=account,
        name="PagerDuty incident sync for the on-call rotation",
        description="Opens and resolves PagerDuty incidents from StatusPool alerts.",
        redirect_uris=["https://hooks.pagerduty-integration.example.com/statuspool/oauth/callback"],
        actor=actor,
        created_by=owner,
    )
    authorization = oauth_services.authorization_approve(
        user=owner,
        application=application,
        account=account,
        scopes=["monitors:read", "alerts:read"],
        actor=actor,
    )
    _requests(key, now, authorization=authorization)
    return Sample(
        account=account,
        owner=owner,
        member=member,
        newcomer=newcomer,
        key=ApiKey.objects.get(pk=key.pk),
        stale_key=ApiKey.objects.get(pk=stale.pk),
        suspended_key=ApiKey.objects.get(pk=suspended.pk),
        rotated_key=ApiKey.objects.get(pk=deploy.pk),
        revoked_key=ApiKey.objects.get(pk=revoked.pk),
        application=application,
        authorization=authorization,
        monitor=Monitor.objects.filter(account=account).order_by("name").first(),
    )

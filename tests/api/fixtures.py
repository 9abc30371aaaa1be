"""Fixtures for the /v2 tests (a plugin of tests/conftest.py, so endpoint tests can live with their
app): bearer credentials of any kind, seeded account data, a JSON client.

``make_bearer(account, scopes)`` returns an ``Authorization`` header value for a credential of the
parametrized kind, acting for ``account`` with exactly ``scopes``. Tests that take it run once per
kind in ``BEARER_FACTORIES``: "api_key" and "oauth" (tests/oauthapps/helpers.py).

Adding a credential kind: write a factory with the same signature, as OAuth did with
``def oauth_bearer(account, scopes) -> str`` (create a user whose role allows the scopes, an
Application, an Authorization and an AccessToken; return ``"Bearer sp_oat_…"``), and register it
here as ``BEARER_FACTORIES["oauth"] = oauth_bearer``. Every test using ``make_bearer`` — the whole
scope matrix, the cross-account 404s — then runs with OAuth tokens too.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import redis.connection
from django.utils import timezone

from apikeys.models import ApiKey, Status
from statuspool import api_key_format
from statuspool.accounts.models import Account, Invitation, Membership, User
from statuspool.api import throttling
from statuspool.monitoring.models import (
    AlertDispatch,
    AlertRule,
    Incident,
    Monitor,
    NotificationChannel,
    UptimeDay,
)
from statuspool.scopes import SCOPES
from tests.oauthapps.helpers import oauth_bearer

ALL_SCOPES = tuple(SCOPES)


def issue_key(
    account, scopes, *, status=Status.ACTIVE, expires_at=None, grace_ends_at=None, name=None
):
    """A key straight in the database (no per-account limit: tests need many). (key, raw)."""
    raw = api_key_format.generate()
    key = ApiKey(
        account=account,
        name=name or f"test key {api_key_format.public_id_of(raw)}",
        scopes=list(scopes),
        status=status,
        expires_at=expires_at,
        grace_ends_at=grace_ends_at,
    )
    key.set_secret(raw)
    key.save()
    return key, raw


def api_key_bearer(account, scopes) -> str:
    return f"Bearer {issue_key(account, scopes)[1]}"


BEARER_FACTORIES = {"api_key": api_key_bearer, "oauth": oauth_bearer}


@pytest.fixture(autouse=True)
def _fresh_limiter_state():
    """Per-process state must not leak between tests: a test that breaks the cache trips the
    circuit breaker, one that fails to authenticate makes its address a suspect."""
    _reset_limiter_state()
    yield
    _reset_limiter_state()


def _reset_limiter_state():
    throttling.guard.reset()
    throttling.local_counters.clear()
    throttling.suspects.clear()


@pytest.fixture(params=sorted(BEARER_FACTORIES))
def make_bearer(request, db):
    return BEARER_FACTORIES[request.param]


@pytest.fixture
def api(client):
    """``api(method, path, bearer=None, json=None, **headers)`` → response (JSON bodies)."""

    def call(method, path, bearer=None, json=None, **headers):
        if bearer:
            headers["HTTP_AUTHORIZATION"] = bearer
        send = getattr(client, method.lower())
        if json is None:
            return send(path, **headers)
        return send(path, json, content_type="application/json", **headers)

    return call


@dataclass
class Seeded:
    """One account's monitoring data, as the routes table refers to it."""

    account: object
    monitor: Monitor
    incident: Incident
    channel: NotificationChannel
    rule: AlertRule
    dispatch: AlertDispatch
    membership: Membership
    key: ApiKey
    other_member: Membership
    invitation: Invitation

    @property
    def ids(self) -> dict:
        return {
            "monitor": self.monitor.pk,
            "incident": self.incident.pk,
            "channel": self.channel.pk,
            "rule": self.rule.pk,
            "dispatch": self.dispatch.pk,
            "member": self.membership.pk,
            "key": self.key.public_id,
            "other_member": self.other_member.pk,
            "invitation": self.invitation.pk,
        }


def seed(account, owner) -> Seeded:
    monitor = Monitor.objects.create(
        account=account, name=f"{account.name} API", url="https://api.example.com/health"
    )
    today = timezone.now().date()
    for offset, failures in ((0, 0), (1, 6), (2, 0)):
        UptimeDay.objects.create(
            monitor=monitor,
            day=today - timedelta(days=offset),
            checks=1440,
            failures=failures,
            avg_response_ms=120 + offset,
        )
    UptimeDay.objects.create(
        monitor=monitor, day=date(2000, 1, 1), checks=10, failures=10, avg_response_ms=1
    )
    incident = Incident.objects.create(
        account=account,
        monitor=monitor,
        started_at=timezone.now() - timedelta(hours=2),
        cause="HTTP 503",
        status=Incident.Status.OPEN,
    )
    channel = NotificationChannel(
        account=account, name="On-call hook", kind="webhook", secret="https://hooks.example/s3cr3t"
    )
    channel.save()
    rule = AlertRule.objects.create(account=account, name="API down", monitor=monitor)
    rule.channels.set([channel])
    dispatch = AlertDispatch.objects.create(
        account=account, rule=rule, channel=channel, incident=incident
    )
    key, _ = issue_key(account, ["monitors:read"], name="CI pipeline")
    helper = User.objects.create_user(f"dora-{account.pk}@example.test", "x" * 20)
    invitation = Invitation(account=account, email=f"pending-{account.pk}@example.test")
    invitation.set_new_token()
    invitation.save()
    return Seeded(
        account=account,
        monitor=monitor,
        incident=incident,
        channel=channel,
        rule=rule,
        dispatch=dispatch,
        membership=Membership.objects.get(account=account, user=owner),
        key=key,
        other_member=Membership.objects.create(account=account, user=helper, role="member"),
        invitation=invitation,
    )


@pytest.fixture
def seeded_a(account_a, alice):
    return seed(account_a, alice)


@pytest.fixture
def seeded_b(account_b, charlie):
    return seed(account_b, charlie)


def snapshot(account) -> dict:
    """Everything a /v2 write could change in an account, to prove a refused write changed nothing."""
    return {
        "monitors": list(Monitor.objects.filter(account=account).order_by("pk").values()),
        "rules": list(AlertRule.objects.filter(account=account).order_by("pk").values()),
        "rule_channels": sorted(
            AlertRule.channels.through.objects.filter(alertrule__account=account).values_list(
                "alertrule_id", "notificationchannel_id"
            )
        ),
        "channels": list(
            NotificationChannel.objects.filter(account=account)
            .order_by("pk")
            .values("id", "name", "kind", "address", "secret")
        ),
        "keys": list(
            ApiKey.objects.filter(account=account)
            .order_by("pk")
            .values("id", "name", "scopes", "status", "revoked_at", "revoked_reason")
        ),
        "memberships": list(Membership.objects.filter(account=account).order_by("pk").values()),
        "invitations": list(Invitation.objects.filter(account=account).order_by("pk").values()),
        "account": list(Account.objects.filter(pk=account.pk).values("billing_email", "plan")),
    }


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def redis_trips(monkeypatch):
    """The commands of each write to a Redis connection (a round trip, or the first half of one
    sent ahead), as lists of command names."""
    trips: list[list[str]] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        chunks = command if isinstance(command, list) else [command]
        packed = b"".join(bytes(chunk) for chunk in chunks)
        # RESP arrays: "*<n>\r\n$<len>\r\n<NAME>\r\n…": the name follows each array header.
        names = [
            part.split(b"\r\n")[2].decode() for part in packed.split(b"*")[1:] if b"\r\n$" in part
        ]
        trips.append(names)
        return original(self, command, check_health)

    monkeypatch.setattr(
        redis.connection.AbstractConnection, "send_packed_command", send_packed_command
    )
    return trips

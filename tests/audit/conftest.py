"""Fixtures of the audit-trail tests: events at chosen times, keys, a /v2 client, the buffer."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction

from apikeys.services import apikey_create
from audit import requestlog
from audit.services import Actor, ActorKind, record


@pytest.fixture(autouse=True)
def isolated_request_log_buffer(settings, tmp_path):
    """Each test gets its own spool folder and an empty Redis list."""
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")
    redis = requestlog._redis(django_settings.REDIS_URL) if django_settings.REDIS_URL else None
    if redis is not None:
        redis.delete(requestlog.REDIS_LIST)
    yield
    if redis is not None:
        redis.delete(requestlog.REDIS_LIST)


def add_event(account, action="apikey.created", *, at=None, actor=None, **fields):
    """Record one event through audit.record(), optionally at a frozen moment."""
    actor = actor or Actor(kind=ActorKind.USER, email="alice@acme.test", ip="203.0.113.9")

    def write():
        with transaction.atomic():
            return record(action=action, actor=actor, account=account, **fields)

    if at is None:
        return write()
    with time_machine.travel(at, tick=False):
        return write()


@pytest.fixture
def events_a(account_a):
    """Five events of account A, one a day from 2026-03-01."""
    return [
        add_event(
            account_a,
            at=datetime(2026, 3, day, 12, 0, 0, 123456, tzinfo=UTC),
            target_type="apikey",
            target_id=str(day),
            target_label=f"key {day}",
            details={"n": day},
        )
        for day in range(1, 6)
    ]


@pytest.fixture
def make_key():
    def make(account, *, name="incident-key", scopes=("monitors:read",), created_by=None):
        return apikey_create(
            account=account,
            name=name,
            scopes=list(scopes),
            actor=Actor.system(label="tests"),
            created_by=created_by,
        )

    return make


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_USER_AGENT": "incident-cli/1.0"}

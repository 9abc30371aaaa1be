"""Fixtures of the audit-trail tests: events at chosen times (keys, /v2 and the request-log buffer:
tests.usage.conftest)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import transaction

from audit.services import Actor, ActorKind, record
from tests.usage.conftest import bearer, isolated_request_log_buffer, make_key  # noqa: F401


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

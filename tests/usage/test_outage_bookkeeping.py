"""What /v2 requests leave behind survives the faults that used to lose or double it (issue 11,
item 7), on a private PostgreSQL and Redis that the tests stop and pause:

* a request ending in a 503 (database down) or a 500 is in the request log;
* a Redis write that timed out (Redis paused mid-send) is spooled, may still be applied when
  Redis wakes up, and is one row all the same;
* a new country seen while Redis is down still alerts, once, when it is back.
"""

import time
import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings

from apikeys.models import ApiKey
from apikeys.services import apikey_create
from audit.services import Actor
from statuspool import sharedcache
from statuspool.accounts.models import Account, Membership, Role
from statuspool.notifications.models import OutboxEmail
from statuspool.sharedcache import background, guard
from tests.conftest import make_user
from tests.processes import on_private_stack
from usage import lastused, requestlog
from usage.flush import usage_flush
from usage.models import RequestLog

pytestmark = [pytest.mark.postgres]

GB, US = "81.2.69.160", "8.8.8.8"


@pytest.fixture(autouse=True)
def _fresh_process_state():
    guard.reset()
    lastused.recently_recorded.clear()
    yield
    guard.reset()


def _key(alerts=False):
    account = Account.objects.create(name=f"Faults {uuid.uuid4().hex[:6]}", plan="enterprise")
    owner = make_user(f"owner-{uuid.uuid4().hex[:8]}@example.test")
    Membership.objects.create(user=owner, account=account, role=Role.OWNER)
    key, raw = apikey_create(
        account=account, name="bookkeeping", scopes=["monitors:read"], actor=Actor.system("t"),
        created_by=owner,
    )  # fmt: skip
    if alerts:
        ApiKey.objects.filter(pk=key.pk).update(usage_alerts_enabled=True)
    return key, Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")


def _statuses(key):
    requestlog.flush()
    return sorted(RequestLog.objects.for_api_key(key).values_list("status", flat=True))


@pytest.mark.django_db(transaction=True)
def test_requests_ending_in_503_or_500_are_in_the_request_log(
    private_postgres, private_redis, monkeypatch
):
    # Long enough that the cached authentication outlives the database's outage.
    with (
        on_private_stack(private_postgres, private_redis),
        override_settings(API_AUTH_TRUST_SECONDS=120),
    ):
        key, api = _key()
        assert api.get("/v2/monitors").status_code == 200  # caches the key's authentication

        private_postgres.stop()
        try:
            response = api.get("/v2/monitors")
            assert response.status_code == 503
        finally:
            private_postgres.start()
        connection.close()

        from statuspool.monitoring.api import MonitorList

        def broken(self, request, *args, **kwargs):
            raise RuntimeError("a bug")

        monkeypatch.setattr(MonitorList, "get", broken)
        assert api.get("/v2/monitors").status_code == 500
        assert _statuses(key) == [200, 500, 503]


@pytest.mark.django_db(transaction=True)
def test_a_timed_out_redis_write_is_spooled_but_written_once(
    private_postgres, private_redis, monkeypatch
):
    with on_private_stack(private_postgres, private_redis):
        key, api = _key()
        assert api.get("/v2/monitors").status_code == 200
        background.drain()
        original = sharedcache._send

        def send_to_a_paused_redis(redis, parts, atomic):
            private_redis.pause()  # it reads nothing, the client times out, then spools
            try:
                original(redis, parts, atomic)
            finally:
                private_redis.resume()  # …and Redis then applies what it had received

        monkeypatch.setattr(sharedcache, "_send", send_to_a_paused_redis)
        assert api.get("/v2/monitors").status_code == 200
        background.drain()  # the sender thread's send, made now
        monkeypatch.setattr(sharedcache, "_send", original)
        assert not guard.available()  # the write did time out
        time.sleep(0.3)
        guard.reset()
        assert requestlog.pending_in_buffer() == 3  # the first request; the second twice
        assert _statuses(key) == [200, 200]


@pytest.mark.django_db(transaction=True)
def test_a_new_country_seen_while_redis_is_down_alerts_once_when_it_is_back(
    private_postgres, private_redis
):
    with on_private_stack(private_postgres, private_redis):
        key, api = _key(alerts=True)
        assert api.get("/v2/monitors", REMOTE_ADDR=GB).status_code == 200
        usage_flush()
        private_redis.stop()
        try:
            assert api.get("/v2/monitors", REMOTE_ADDR=US).status_code == 200
            with pytest.raises(Exception):  # noqa: B017 - the flush needs Redis
                usage_flush()
        finally:
            private_redis.start()
        guard.reset()
        usage_flush()
        usage_flush()
        alerts = OutboxEmail.objects.filter(template="usage_new_country")
        assert [email.context["country"] for email in alerts] == ["US"]
        key.refresh_from_db()
        assert key.seen_countries == ["GB", "US"]
        assert key.last_used_ip == US

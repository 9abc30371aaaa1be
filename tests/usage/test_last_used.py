"""Last-used tracking and Usage Alerts: buffered on the request, flushed in bulk, emailed once."""

import threading
import time
from datetime import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from apikeys.models import ApiKey
from oauthapps.models import Application, Authorization
from statuspool.api import throttling
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.api.signals import api_request_finished
from statuspool.api.views import ApiView
from statuspool.notifications.models import OutboxEmail
from statuspool.notifications.services import render_message
from usage import lastused
from usage.flush import usage_flush
from usage.tasks import flush_usage

GB, US, DE = "81.2.69.160", "8.8.8.8", "2a00:1450:4001::1"


@pytest.fixture(autouse=True)
def _steady_window():
    """Stop the wall clock so no rate-limit window rolls over in the middle of a test."""
    with time_machine.travel(time.time(), tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_limiter_state():
    throttling.guard.reset()
    throttling.local_counters.clear()
    throttling.suspects.clear()
    lastused.recently_recorded.clear()
    yield
    throttling.guard.reset()


@pytest.fixture
def key_and_bearer(make_key, bob, alice):
    """A key created by Bob (admin) in Alice's account, with usage alerts on."""
    key, raw = make_key(name="prod-monitoring-cli", created_by=bob)
    ApiKey.objects.filter(pk=key.pk).update(usage_alerts_enabled=True)
    key.refresh_from_db()
    return key, f"Bearer {raw}"


@pytest.fixture
def get(client):
    def send(bearer, ip, path="/v2/monitors", method="get"):
        return getattr(client, method)(path, HTTP_AUTHORIZATION=bearer, REMOTE_ADDR=ip)

    return send


def emails(template=None):
    # Creating a key also notifies the admins (security_notice); these tests are about alerts.
    rows = OutboxEmail.objects.exclude(template="security_notice").order_by("id")
    return list(rows.filter(template=template) if template else rows)


def test_requests_write_nothing_until_the_flush(key_and_bearer, get):
    key, bearer = key_and_bearer
    assert get(bearer, GB).status_code == 200
    assert get(bearer, US).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is None and emails() == []
    before = timezone.now()
    assert usage_flush()["keys"] == 1
    key.refresh_from_db()
    # Last value wins: time, address and country of the most recent request.
    assert key.last_used_ip == US and key.last_used_country == "US"
    assert before - timezone.timedelta(seconds=5) < key.last_used_at <= timezone.now()
    assert sorted(key.seen_countries) == ["GB", "US"]
    # Nothing left to flush.
    assert usage_flush() == {"keys": 0, "grants": 0, "alerts": 0}


def test_first_request_alert_is_sent_once_to_owner_and_creator(key_and_bearer, get, alice, bob):
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    get(bearer, GB)
    usage_flush()
    first = emails("usage_first_request")
    assert len(first) == 1
    assert first[0].to == [alice.email, bob.email]
    assert first[0].dedup_key == f"usage-first:{key.pk}"
    assert first[0].context["ip"] == GB and first[0].context["country"] == "GB"
    assert "made its first request" in first[0].subject
    # The first request's country is named there, not alerted as "new" on top.
    assert emails("usage_new_country") == []


def test_recipients_are_deduplicated(make_key, alice, get):
    key, raw = make_key(name="owner-made", created_by=alice)
    ApiKey.objects.filter(pk=key.pk).update(usage_alerts_enabled=True)
    get(f"Bearer {raw}", GB)
    usage_flush()
    assert [e.to for e in emails("usage_first_request")] == [[alice.email]]


def test_new_country_alert_once_per_country(key_and_bearer, get, alice, bob):
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    get(bearer, US)
    get(bearer, US)
    usage_flush()
    get(bearer, US)
    get(bearer, DE)  # IPv6
    usage_flush()
    alerts = emails("usage_new_country")
    assert [e.context["country"] for e in alerts] == ["US", "DE"]
    assert all(e.to == [alice.email, bob.email] for e in alerts)
    assert alerts[0].context["known_countries"] == "United Kingdom (GB)"
    key.refresh_from_db()
    assert key.seen_countries == ["GB", "US", "DE"]


def _at(seconds_from_now):
    """Travel to a moment a few seconds from the test's stopped clock (distinct request times)."""
    return time_machine.travel(time.time() + seconds_from_now, tick=False)


def test_new_country_email_gives_the_time_and_address_of_that_countrys_request(key_and_bearer, get):
    """Issue 13 item 7: it gave the time of the key's latest request (merged per key in the
    buffer), here a later request from a country seen long ago."""
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    with _at(5):
        get(bearer, US)
        from_us = timezone.now()
    lastused.recently_recorded.clear()  # GB's address was buffered moments ago
    with _at(600):
        get(bearer, GB)  # the latest request of the batch, from a known country
    usage_flush()
    (alert,) = emails("usage_new_country")
    assert alert.context["country"] == "US"
    at = datetime.fromisoformat(alert.context["at"])
    assert abs((at - from_us).total_seconds()) < 1
    assert alert.context["ip"] == US
    body = render_message(alert).body
    assert f"around {from_us:%Y-%m-%d %H:%M}" in body and f"(address {US})" in body


def test_countries_seen_earlier_in_the_same_flush_are_countries_seen_before(key_and_bearer, get):
    """Issue 13 item 7: "Countries seen before: none yet" right after another country."""
    key, bearer = key_and_bearer
    get(bearer, GB)  # the first request ever: its own email names GB
    with _at(5):
        get(bearer, US)
    with _at(10):
        get(bearer, DE)
    usage_flush()
    alerts = emails("usage_new_country")
    assert [e.context["country"] for e in alerts] == ["US", "DE"]
    assert [e.context["known_countries"] for e in alerts] == [
        "United Kingdom (GB)",
        "United Kingdom (GB), United States (US)",
    ]
    key.refresh_from_db()
    assert key.seen_countries == ["GB", "US", "DE"]  # in the order they were first seen


def test_usage_emails_name_countries(key_and_bearer, get):
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    with _at(5):
        get(bearer, DE)
    usage_flush()
    (first,) = emails("usage_first_request")
    assert "United Kingdom (GB)" in render_message(first).body
    (alert,) = emails("usage_new_country")
    assert alert.subject.endswith("was used from a new country: Germany (DE)")
    message = render_message(alert)
    assert "never been used from: Germany (DE) (address" in message.body
    assert "Countries seen before: United Kingdom (GB)." in message.body
    assert "<strong>Germany (DE)</strong>" in message.alternatives[0][0]


def test_merging_spooled_and_redis_records_keeps_each_countrys_earliest_request():
    spooled = lastused.UsageRecord(
        "key:1", at=20, first_at=10, countries={"US": lastused.FirstSeen(15, US)}
    )
    from_redis = lastused.UsageRecord(
        "key:1",
        at=30,
        first_at=12,
        countries={"US": lastused.FirstSeen(12, "8.8.4.4"), "DE": lastused.FirstSeen(25, DE)},
    )
    (merged,) = lastused.merge([from_redis, spooled])
    assert merged.countries == {
        "US": lastused.FirstSeen(12, "8.8.4.4"),
        "DE": lastused.FirstSeen(25, DE),
    }
    assert (merged.at, merged.first_at) == (30, 10)


@pytest.mark.redis
def test_countries_buffered_before_first_seen_times_were_kept_still_alert(key_and_bearer, get):
    """A record in Redis from before the upgrade has a set of countries: they are not lost."""
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    client = lastused.buffer.client()
    codec = lastused.buffer.codec
    member = f"key:{key.pk}"
    client.hset(codec._key(f"last:{member}"), mapping={"at": "1000.0", "first_at": "990.0"})
    client.sadd(codec._key(f"countries:{member}"), "US")
    client.sadd(codec._key("pending"), member)
    usage_flush()
    (alert,) = emails("usage_new_country")
    assert alert.context["country"] == "US"
    assert alert.context["at"].startswith("1970-01-01T00:16:30")  # the record's first request
    assert client.exists(codec._key(f"countries:{member}")) == 0


def test_private_loopback_and_unknown_addresses_never_alert(key_and_bearer, get):
    key, bearer = key_and_bearer
    get(bearer, "10.0.0.5")
    usage_flush()
    for address in (
        "127.0.0.1",
        "192.168.1.20",
        "::1",
        "fd00::7",
        "203.0.113.7",
        "::ffff:10.1.1.1",
    ):
        assert get(bearer, address).status_code == 200
    usage_flush()
    key.refresh_from_db()
    assert key.seen_countries == []
    assert key.last_used_ip == "10.1.1.1" and key.last_used_country == ""
    assert emails("usage_new_country") == []
    assert len(emails("usage_first_request")) == 1  # the first request alerts wherever it is from


def test_rate_limit_alert_once_per_hour(key_and_bearer, get, settings, alice, bob):
    settings.API_RATE_LIMITS = {
        "team": {"read": 5, "write": 5},
        "enterprise": {"read": 9, "write": 9},
    }
    key, bearer = key_and_bearer
    statuses = [get(bearer, GB).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    usage_flush()
    alerts = emails("usage_rate_limit")
    assert len(alerts) == 1
    assert alerts[0].to == [alice.email, bob.email]
    assert alerts[0].context["limit"] == 5 and alerts[0].context["resource"] == "read"
    assert "80%" in alerts[0].subject
    # The write bucket crossing 80% in the same hour does not email again.
    for _ in range(5):
        get(bearer, GB, method="post")
    usage_flush()
    assert len(emails("usage_rate_limit")) == 1


def test_no_alert_below_80_percent(key_and_bearer, get, settings):
    settings.API_RATE_LIMITS = {
        "team": {"read": 10, "write": 5},
        "enterprise": {"read": 9, "write": 9},
    }
    _, bearer = key_and_bearer
    for _ in range(8):  # 80 % exactly is not "over 80 %"
        get(bearer, GB)
    usage_flush()
    assert emails("usage_rate_limit") == []
    get(bearer, GB)
    usage_flush()
    assert len(emails("usage_rate_limit")) == 1


def test_no_alerts_when_the_toggle_is_off(key_and_bearer, get, settings):
    settings.API_RATE_LIMITS = {
        "team": {"read": 2, "write": 2},
        "enterprise": {"read": 9, "write": 9},
    }
    key, bearer = key_and_bearer
    ApiKey.objects.filter(pk=key.pk).update(usage_alerts_enabled=False)
    cache.clear()  # forget the cached authentication that still said "on"
    for address in (GB, US, US, DE):
        get(bearer, address)
    usage_flush()
    assert emails() == []
    key.refresh_from_db()
    assert key.last_used_ip == DE and sorted(key.seen_countries) == ["DE", "GB", "US"]
    # Turning alerts on later does not replay old events: the countries are known already.
    ApiKey.objects.filter(pk=key.pk).update(usage_alerts_enabled=True)
    cache.clear()
    lastused.recently_recorded.clear()
    get(bearer, US)
    assert usage_flush()["keys"] == 1
    assert emails() == []


def test_beat_task_flushes(key_and_bearer, get):
    key, bearer = key_and_bearer
    get(bearer, GB)
    flush_usage.delay()
    key.refresh_from_db()
    assert key.last_used_country == "GB"
    assert len(emails("usage_first_request")) == 1


def test_a_failed_flush_puts_the_records_back(key_and_bearer, get, monkeypatch):
    key, bearer = key_and_bearer
    get(bearer, GB)
    from apikeys import usage_writer as module

    real = module._flush_keys
    monkeypatch.setattr(module, "_flush_keys", lambda records: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        usage_flush()
    monkeypatch.setattr(module, "_flush_keys", real)
    assert usage_flush()["keys"] == 1
    key.refresh_from_db()
    assert key.last_used_ip == GB
    assert len(emails("usage_first_request")) == 1


def test_oauth_grant_last_used_is_buffered_too(alice, account_a):
    application = Application.objects.create(
        name="PagerDuty Sync",
        account=account_a,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://hooks.example.com/callback",
    )
    grant = Authorization.objects.create(
        user=alice, application=application, account=account_a, scopes=["monitors:read"]
    )
    credential = Credential(
        kind=CredentialKind.OAUTH_TOKEN,
        id=99,
        account_id=account_a.pk,
        plan="team",
        scopes=frozenset({"monitors:read"}),
        rate_limit_identity=f"oauth:{application.pk}:{account_a.pk}",
        authorization_id=grant.pk,
    )
    request = RequestFactory().get("/v2/monitors")
    api_request_finished.send(
        sender=ApiView,
        credential=credential,
        request=request,
        response=HttpResponse(),
        ip=US,
        duration_ms=1,
    )
    grant.refresh_from_db()
    assert grant.last_used_at is None
    assert usage_flush() == {"keys": 0, "grants": 1, "alerts": 0}
    grant.refresh_from_db()
    assert grant.last_used_at is not None


def test_usage_while_the_cache_is_down_is_spooled_and_flushed_once_it_is_back(key_and_bearer, get):
    key, bearer = key_and_bearer
    throttling.guard.failed(ConnectionError("down"), "test")
    assert get(bearer, GB).status_code == 200
    throttling.guard.reset()
    assert usage_flush()["keys"] == 1  # from the spool file (issue 11: alerts are not dropped)
    key.refresh_from_db()
    assert (key.last_used_ip, key.seen_countries) == (GB, ["GB"])
    assert usage_flush()["keys"] == 0


@pytest.mark.redis
def test_redis_buffer_loses_nothing_under_concurrent_writers_and_flushes(db):
    """Writers and a drainer race; every country recorded ends up in exactly one drained batch."""
    buffer = lastused.buffer
    assert buffer.client() is not None  # Redis, not the spool
    members = [f"key:{n}" for n in range(20)]
    countries = [f"C{n}" for n in range(10)]
    drained: list = []
    stop = threading.Event()

    def write(offset):
        for i in range(200):
            member = members[(i + offset) % len(members)]
            values = {"at": f"{1000 + i}", "ip": "192.0.2.1", "country": countries[i % 10]}
            buffer.push((member, values, countries[i % 10]))

    def drain():
        while not stop.is_set():
            drained.extend(buffer.take())

    drainer = threading.Thread(target=drain)
    drainer.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    drainer.join()
    drained.extend(buffer.take())
    seen: dict[str, set] = {}
    for record in drained:
        seen.setdefault(record.member, set()).update(record.countries)
    assert set(seen) == set(members)
    for member in members:
        offsets = {(members.index(member) - o) % 20 for o in range(4)}
        expected = {countries[i % 10] for i in range(200) if i % 20 in offsets}
        assert seen[member] == expected
    assert buffer.take() == []


def test_one_address_is_buffered_at_most_once_per_interval(key_and_bearer, get, settings):
    settings.API_USAGE_RECORD_EVERY_SECONDS = 60
    key, bearer = key_and_bearer
    get(bearer, GB)
    usage_flush()
    for _ in range(3):
        get(bearer, GB)  # same address within the interval: nothing new to say
    assert usage_flush()["keys"] == 0
    get(bearer, US)  # a new address is written at once (it may be a new country)
    assert usage_flush()["keys"] == 1
    key.refresh_from_db()
    assert key.last_used_ip == US
    lastused.recently_recorded.clear()  # the interval has passed
    get(bearer, GB)
    assert usage_flush()["keys"] == 1

"""The request log: buffered on the request path (no INSERT), written in bulk by the flush."""

import json
import os
import uuid
from datetime import timedelta

import pytest
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from apikeys.services import apikey_revoke
from audit.services import Actor
from statuspool.api.credentials import Credential, CredentialKind
from statuspool.sharedcache import RedisBatch, background, guard, redis_of
from usage import requestlog
from usage.models import RequestLog
from usage.tasks import flush_request_log

from .conftest import WITHOUT_REDIS, bearer, dead_redis


@pytest.fixture(autouse=True)
def _closed_circuit_breaker():
    """Tests that make Redis fail open the per-process breaker: not for the next test."""
    guard.reset()
    yield
    guard.reset()


def test_a_request_with_a_key_is_buffered_without_any_insert(
    client, account_a, make_key, django_assert_num_queries
):
    key, raw = make_key(account_a, scopes=["teams:admin"])
    assert client.get("/v2/audit-log", **bearer(raw)).status_code == 200  # warms the auth cache
    # One query: the page of events. Authentication comes from the shared cache, and the
    # request-log entry goes to the buffer, not the database.
    with django_assert_num_queries(1) as captured:
        response = client.get("/v2/audit-log?limit=5&action=apikey.created", **bearer(raw))
    assert response.status_code == 200
    assert not any("requestlog" in query["sql"] for query in captured.captured_queries)
    assert RequestLog.objects.count() == 0
    assert requestlog.pending_in_buffer() == 2

    assert flush_request_log.delay().get() == 2
    assert requestlog.pending_in_buffer() == 0
    row = RequestLog.objects.order_by("id").last()
    assert row.account_id == account_a.pk
    assert (row.credential_kind, row.credential_id) == ("api_key", key.pk)
    assert row.credential_label == key.display_id
    assert (row.method, row.path, row.status) == ("GET", "/v2/audit-log", 200)
    assert row.ip == "127.0.0.1"
    assert row.user_agent == "incident-cli/1.0"
    assert abs(row.occurred_at - timezone.now()) < timedelta(minutes=1)


def test_refused_and_failed_requests_with_a_valid_key_are_logged(client, account_a, make_key):
    key, raw = make_key(account_a, scopes=["monitors:read"])
    assert client.get("/v2/audit-log", **bearer(raw)).status_code == 403
    assert client.get("/v2/monitors/999999", **bearer(raw)).status_code == 404
    requestlog.flush()
    statuses = sorted(RequestLog.objects.for_api_key(key).values_list("status", flat=True))
    assert statuses == [403, 404]


def test_requests_without_a_valid_credential_are_not_logged(client, account_a):
    client.get("/v2/monitors", HTTP_AUTHORIZATION="Bearer sp_live_nope")
    client.get("/v2/monitors")
    assert requestlog.pending_in_buffer() == 0


def _credential(account, key_id=7):
    return Credential(
        kind=CredentialKind.API_KEY,
        id=key_id,
        account_id=account.pk,
        plan="team",
        scopes=frozenset({"monitors:read"}),
        label="sp_live_abcdefgh…",
    )


class _Request:
    method = "GET"
    path = "/v2/monitors/sp_live_4f8a2c91e7d3b6aa0123456789abcdefABCDEF12"
    META = {"HTTP_USER_AGENT": "x" * 600, "QUERY_STRING": "token=secret"}


class _Response:
    status_code = 200


def test_entries_keep_the_path_only_and_never_a_credential(account_a):
    entry = requestlog.entry_for(
        credential=_credential(account_a),
        request=_Request(),
        response=_Response(),
        ip="198.51.100.4",
        duration_ms=12.6,
    )
    assert entry["p"] == "/v2/monitors/[redacted]"
    assert "secret" not in json.dumps(entry) and "token" not in json.dumps(entry)
    assert len(entry["ua"]) == 400 and entry["d"] == 12


def test_the_receiver_never_breaks_a_request(account_a, monkeypatch, caplog):
    def broken(entry, batch=None):
        raise OSError("disk full")

    monkeypatch.setattr(requestlog, "push", broken)
    requestlog.on_api_request_finished(
        sender=None,
        credential=_credential(account_a),
        request=_Request(),
        response=_Response(),
        ip="198.51.100.4",
        duration_ms=1,
    )
    assert "could not buffer a request-log entry" in caplog.text


def test_flush_adds_the_country_and_survives_a_malformed_entry(account_a, monkeypatch):
    import statuspool.geoip

    monkeypatch.setattr(
        statuspool.geoip, "country_of", lambda ip: {"81.2.69.142": "GB"}.get(ip, "")
    )
    for ip in ("81.2.69.142", "10.0.0.1"):
        requestlog.on_api_request_finished(
            sender=None,
            credential=_credential(account_a),
            request=_Request(),
            response=_Response(),
            ip=ip,
            duration_ms=3,
        )
    requestlog.buffer.spool_append(b"{not json\n")
    assert requestlog.flush() == 2
    assert dict(RequestLog.objects.values_list("ip", "country")) == {
        "81.2.69.142": "GB",
        "10.0.0.1": "",
    }


def test_an_entry_id_spelled_differently_still_counts_once_and_a_bad_one_drops_its_line(
    account_a,
):
    """The flush keeps entry ids as the line's hex text: another spelling of the same UUID (an
    older writer, by hand) must still meet the stored row, and a bad id only loses its line."""
    from usage.models import HourlyUsage

    entry_id = uuid.uuid4()
    entry = {"t": timezone.now().isoformat(), "a": account_a.pk, "k": "api_key", "c": 3}
    entry |= {"m": "GET", "p": "/v2/monitors", "s": 200}
    lines = [
        json.dumps({**entry, "u": entry_id.hex}),
        json.dumps({**entry, "u": str(entry_id).upper()}),
        json.dumps({**entry, "u": "not-a-uuid"}),
        json.dumps({**entry, "u": 12}),
    ]
    requestlog.buffer.spool_append(("\n".join(lines) + "\n").encode())
    requestlog.flush()
    requestlog.buffer.spool_append(f"{json.dumps({**entry, 'u': str(entry_id)})}\n".encode())
    requestlog.flush()
    assert list(RequestLog.objects.values_list("entry_id", flat=True)) == [entry_id]
    assert HourlyUsage.objects.get(credential_id=3).requests == 1


def test_entry_ids_are_unique_uuids_and_a_forked_child_draws_its_own():
    ids = [requestlog._entry_ids.next() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(entry_id).hex == entry_id for entry_id in ids)  # the column's format
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its next id: a parent's prefix would collide with its own
        os.write(writer, requestlog._entry_ids.next().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    child = os.read(reader, 64).decode()
    os.close(reader)
    parent = requestlog._entry_ids.next()
    assert child[:16] != parent[:16] and uuid.UUID(child).hex == child


def test_a_forked_child_starts_without_the_parents_pending_batches(account_a, sender_waits):
    background.discard()
    batch = RedisBatch.begin()
    batch.add(lambda pipe: pipe.rpush(requestlog.REDIS_LIST, "parent's"))
    batch.send_in_background()
    assert background.pending() == 1
    pid = os.fork()
    if pid == 0:  # the child's exit status: nothing pending, no sender thread of the parent's
        os._exit(0 if background.pending() == 0 and background._thread is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert background.pending() == 1  # still the parent's to send
    background.discard()


def test_spool_files_are_claimed_once(account_a, settings):
    settings.CACHES = WITHOUT_REDIS
    requestlog.push(
        requestlog.entry_for(
            credential=_credential(account_a),
            request=_Request(),
            response=_Response(),
            ip="192.0.2.1",
            duration_ms=1,
        )
    )
    claimed = requestlog.buffer.claim_spool_files()
    assert len(claimed) == 1 and requestlog.buffer.claim_spool_files() == []
    # A later entry goes to a fresh spool file, not into the claimed one.
    requestlog.push(
        {
            "t": timezone.now().isoformat(),
            "a": account_a.pk,
            "k": "api_key",
            "c": 1,
            "m": "GET",
            "p": "/v2/x",
            "s": 200,
        }
    )
    assert len(claimed[0].read_text().splitlines()) == 1
    assert requestlog.flush() == 1  # the new file; the claimed one belongs to its flusher


def test_the_flush_job_runs_every_few_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["usage-flush-request-log"]
    assert entry["task"] == "usage.tasks.flush_request_log"
    assert entry["schedule"] <= timedelta(seconds=10)


@pytest.mark.redis
def test_with_redis_entries_wait_in_a_shared_list(client, account_a, make_key):
    key, raw = make_key(account_a)
    client.get("/v2/monitors", **bearer(raw))
    client.get("/v2/monitors", **bearer(raw))
    background.drain()  # what the process's sender thread does within SENDER_INTERVAL
    redis = requestlog._redis()
    assert redis.llen(requestlog.REDIS_LIST) == 2
    assert not list(requestlog.spool_dir().glob("*.jsonl"))
    assert requestlog.flush() == 2
    assert redis.llen(requestlog.REDIS_LIST) == 0
    assert RequestLog.objects.for_api_key(key).count() == 2


@pytest.mark.redis
def test_without_reachable_redis_entries_are_spooled_and_flushed(account_a, settings):
    settings.CACHES = dead_redis()  # nothing listens there
    requestlog.on_api_request_finished(
        sender=None,
        credential=_credential(account_a),
        request=_Request(),
        response=_Response(),
        ip="192.0.2.1",
        duration_ms=1,
    )
    assert len(list(requestlog.spool_dir().glob("*.jsonl"))) == 1
    assert requestlog.flush() == 1
    assert RequestLog.objects.count() == 1


def test_an_entry_whose_batch_cannot_be_sent_is_spooled(account_a, settings):
    """On a /v2 request the entry waits in the request's Redis batch; if that round trip fails,
    the entry goes to the spool file instead of being lost."""
    dead = "redis://127.0.0.1:1/0"
    settings.CACHES = dead_redis(dead)
    backend = RedisCache(dead, {"OPTIONS": {"socket_connect_timeout": 0.25}})
    batch = RedisBatch(redis_of(backend), dead)
    requestlog.on_api_request_finished(
        sender=None,
        credential=_credential(account_a),
        request=_Request(),
        response=_Response(),
        ip="192.0.2.2",
        duration_ms=1,
        redis_batch=batch,
    )
    assert requestlog.pending_in_buffer() == 0  # not sent yet
    batch.send()  # refused: never raises
    assert not guard.available()
    assert requestlog.pending_in_buffer() == 1
    assert requestlog.flush() == 1
    assert RequestLog.objects.get().ip == "192.0.2.2"


def test_while_redis_is_known_down_entries_are_spooled_without_asking_it(
    account_a, settings, monkeypatch
):
    # Configured and answering, but this process saw it fail a moment ago.
    guard.failed(ConnectionError("down"), "test")

    def unreachable():
        raise AssertionError("Redis was asked while the breaker was open")

    monkeypatch.setattr(requestlog, "_redis", unreachable)
    requestlog.push(
        requestlog.entry_for(
            credential=_credential(account_a),
            request=_Request(),
            response=_Response(),
            ip="192.0.2.3",
            duration_ms=1,
        )
    )
    assert len(list(requestlog.spool_dir().glob("*.jsonl"))) == 1


def test_revoked_key_requests_stay_in_the_log(
    client, account_a, make_key, django_capture_on_commit_callbacks
):
    key, raw = make_key(account_a)
    client.get("/v2/monitors", **bearer(raw))
    with django_capture_on_commit_callbacks(execute=True):
        apikey_revoke(key=key, actor=Actor.system(label="tests"), reason="compromised")
    assert client.get("/v2/monitors", **bearer(raw)).status_code == 401
    requestlog.flush()
    assert RequestLog.objects.for_api_key(key).count() == 1

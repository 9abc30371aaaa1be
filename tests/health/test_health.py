"""`manage.py health` and `/healthz`: database, Redis, broker, beat's last tick, outbox backlog."""

import json
import socket
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from statuspool.celery import app as celery_app
from statuspool.health import checks
from statuspool.health.beat import HeartbeatScheduler
from statuspool.notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat_ticked():
    checks.beat_heartbeat_write()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def _email(*, due, status=OutboxEmail.Status.PENDING):
    return OutboxEmail.objects.create(
        to=["ops@example.test"], template="x", subject="s", status=status, next_attempt_at=due
    )


def test_healthz_reports_every_component_as_json(client, beat_ticked):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "broker", "beat", "outbox"}
    assert all(entry["ok"] for entry in body["checks"].values())
    assert 0 <= body["checks"]["beat"]["last_tick_seconds_ago"] < 5
    assert body["checks"]["outbox"]["pending"] == 0


def test_healthz_answers_any_host_name_and_plain_http(client, settings, beat_ticked):
    # Container healthchecks call it by address; production redirects everything else to HTTPS.
    settings.ALLOWED_HOSTS = ["statuspool.example"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/healthz/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # only /healthz


def test_no_beat_tick_is_unhealthy_503(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["beat"]["last_tick_seconds_ago"] is None
    assert body["checks"]["database"]["ok"] is True


def test_a_stale_beat_tick_is_unhealthy(client, settings):
    settings.HEALTH_BEAT_MAX_AGE = 60
    checks.beat_heartbeat_write(time.time() - 61)
    assert client.get("/healthz?check=beat").status_code == 503
    checks.beat_heartbeat_write(time.time() - 30)
    assert client.get("/healthz?check=beat").status_code == 200


def test_check_selects_components_and_unknown_names_are_refused(client):
    response = client.get("/healthz?check=database&check=outbox")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "outbox"}
    refused = client.get("/healthz?check=database&check=nope")
    assert refused.status_code == 400
    assert refused.json()["unknown"] == ["nope"]
    assert client.post("/healthz").status_code == 405


def test_emails_due_for_too_long_are_an_outbox_backlog(client, settings):
    settings.HEALTH_OUTBOX_MAX_DELAY = 600
    _email(due=timezone.now() + timedelta(minutes=5))  # waiting for its retry: not late
    _email(due=timezone.now() - timedelta(hours=2), status=OutboxEmail.Status.SENT)
    response = client.get("/healthz?check=outbox")
    assert response.status_code == 200
    assert response.json()["checks"]["outbox"]["pending"] == 1
    _email(due=timezone.now() - timedelta(minutes=11))
    response = client.get("/healthz?check=outbox")
    assert response.status_code == 503
    outbox = response.json()["checks"]["outbox"]
    assert outbox["pending"] == 2 and outbox["oldest_due_seconds_ago"] >= 660


@pytest.mark.redis
def test_unreachable_redis_and_broker_are_unhealthy_without_leaking_addresses(client, settings):
    port = _closed_port()
    url = f"redis://127.0.0.1:{port}/3"
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": url, "OPTIONS": {
            "socket_connect_timeout": 0.25, "socket_timeout": 0.25,
        }}
    }  # fmt: skip
    celery_app.conf.broker_url = url
    try:
        started = time.monotonic()
        response = client.get("/healthz?check=redis&check=broker&check=beat")
        assert time.monotonic() - started < 10
    finally:
        celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    assert response.status_code == 503
    body = response.json()["checks"]
    assert body["redis"]["ok"] is False and body["redis"]["error"].endswith("Error")
    assert body["broker"]["ok"] is False
    assert body["beat"]["ok"] is False
    assert str(port) not in response.content.decode()


def test_command_prints_json_and_fails_when_unhealthy(beat_ticked):
    out = StringIO()
    call_command("health", stdout=out)
    assert json.loads(out.getvalue())["status"] == "ok"
    cache.delete(checks.BEAT_HEARTBEAT_KEY)
    out = StringIO()
    with pytest.raises(CommandError, match="unhealthy: beat"):
        call_command("health", "--check", "beat", "--check", "database", stdout=out)
    report = json.loads(out.getvalue())
    assert set(report["checks"]) == {"beat", "database"} and report["status"] == "unhealthy"


def test_beat_scheduler_writes_the_heartbeat_on_each_tick(tmp_path):
    scheduler = HeartbeatScheduler(app=celery_app, schedule_filename=str(tmp_path / "schedule"))
    try:
        assert cache.get(checks.BEAT_HEARTBEAT_KEY) is None
        next_in = scheduler.tick()
        assert 0 <= next_in <= 5
        assert time.time() - cache.get(checks.BEAT_HEARTBEAT_KEY) < 5
    finally:
        scheduler.close()

"""Issue 10 item 4: lockouts hold when Redis is down.

Reproduction: with Redis unreachable, 30 wrong passwords and then the right one were accepted
("not enforcing it"). The counters now live in the database (FailureCounter), so the test starts
a real redis-server as the cache, counts failures, stops it, and the limits keep holding for the
login (password and second step) and sudo; beat prunes ended windows.
"""

import socket
import subprocess
import time

import pytest
from django.urls import reverse

from statuspool.accounts import lockout
from statuspool.accounts.models import FailureCounter
from statuspool.accounts.tasks import prune_failure_counters
from tests.accounts.conftest import code_at_step, steady_clock  # noqa: F401
from tests.conftest import PASSWORD

from .conftest import events

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path, settings):
    """A redis-server of this test's own, as the cache; ``stop()`` kills it mid-test."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }

    class Server:
        def stop(self):
            process.terminate()
            process.wait(timeout=10)

    # Through pytest-django's settings, so later changes in the test are undone in order.
    settings.CACHES = cache
    try:
        yield Server()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def post_login(client, email, password, ip="192.0.2.60"):
    return client.post(
        reverse("accounts:login"), {"email": email, "password": password}, REMOTE_ADDR=ip
    )


def test_password_lockout_holds_while_redis_is_down(client, alice, own_redis):
    for _ in range(3):
        post_login(client, alice.email, "wrong password")
    own_redis.stop()
    for _ in range(2):
        post_login(client, alice.email, "wrong password")

    response = post_login(client, alice.email, PASSWORD)

    assert b"Too many failed sign-in attempts for this email address" in response.content
    assert "_auth_user_id" not in client.session
    assert "accounts_login_pending" not in client.session
    reasons = [e.details["reason"] for e in events("auth.login_failed")]
    assert reasons == ["wrong_password"] * 5 + ["locked_out_email"]


def test_per_ip_lockout_holds_while_redis_is_down(client, alice, own_redis, settings):
    settings.LOGIN_RATE_PER_EMAIL = "1000/15m"
    own_redis.stop()
    for number in range(20):  # LOGIN_RATE_PER_IP 20/10m, different emails
        post_login(client, f"guess{number}@acme.test", "wrong password")
    response = post_login(client, alice.email, PASSWORD)
    assert b"Too many failed sign-in attempts from your network" in response.content
    assert "accounts_login_pending" not in client.session


def test_second_factor_lockout_holds_while_redis_is_down(client, alice, own_redis):
    assert post_login(client, alice.email, PASSWORD).url == reverse("accounts:login_verify")
    own_redis.stop()
    for _ in range(5):
        client.post(reverse("accounts:login_verify"), {"code": "000000"}, REMOTE_ADDR="192.0.2.60")
    response = client.post(
        reverse("accounts:login_verify"), {"code": code_at_step(alice)}, REMOTE_ADDR="192.0.2.60"
    )
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_sudo_lockout_holds_while_redis_is_down(client, alice, own_redis):
    client.force_login(alice)
    url = reverse("accounts:recovery_codes")
    own_redis.stop()
    for _ in range(5):  # SUDO_FAILURE_LIMIT
        client.post(url, {"password": "wrong password", "otp_code": "000000"})
    response = client.post(url, {"password": PASSWORD, "otp_code": code_at_step(alice)})
    assert b"Too many failed confirmations" in response.content
    reasons = [e.details["reason"] for e in events("auth.sudo_failed")]
    assert reasons == ["wrong_password"] * 5 + ["locked"]


def test_counters_are_database_rows_with_digests_not_values(client, alice):
    post_login(client, alice.email, "wrong password", ip="192.0.2.61")
    rows = list(FailureCounter.objects.order_by("group"))
    assert [(row.group, row.count) for row in rows] == [("login-email", 1), ("login-ip", 1)]
    for row in rows:
        assert alice.email not in row.subject and "192.0.2.61" not in row.subject


def test_beat_prunes_ended_windows(client, alice, settings):
    post_login(client, alice.email, "wrong password")
    assert FailureCounter.objects.count() == 2
    assert prune_failure_counters() == 0  # windows still open
    assert lockout.prune(now=int(time.time()) + 15 * 60 + 1) == 2
    assert FailureCounter.objects.count() == 0
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-prune-failure-counters"]
    assert entry["task"] == "accounts.prune_failure_counters"


def test_concurrent_failures_are_all_counted(alice):
    from django.test import RequestFactory

    request = RequestFactory().post("/")
    for _ in range(7):
        lockout.hit(request, group="login-email", value=alice.email, rate="5/15m")
    [row] = FailureCounter.objects.all()
    assert row.count == 7
    assert lockout.status(request, group="login-email", value=alice.email, rate="5/15m").locked

"""PostgreSQL stopped, restarted or paused under a running gunicorn: 503 with Retry-After within a
bounded time, the outage logged once, and service again without a restart.

A private PostgreSQL of the test's own; gunicorn keeps persistent connections (as in production),
so the pause catches queries on established connections too.
"""

import time
import uuid

import pytest
import requests
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from apikeys.services import apikey_create
from audit.services import Actor
from statuspool.accounts.models import Account, Membership, Role
from tests.conftest import make_user
from tests.processes import Gunicorn, on_private_stack, subprocess_env

pytestmark = [pytest.mark.postgres]


def _session_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _assert_api_unavailable(response):
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


def _assert_page_unavailable(response):
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/html")
    assert "StatusPool is temporarily unavailable" in response.text
    assert response.headers["Retry-After"] == "5"


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_stopped_restarted_and_paused_postgres(private_postgres, tmp_path):
    with on_private_stack(private_postgres):
        account = Account.objects.create(name=f"Outage {uuid.uuid4().hex[:6]}", plan="team")
        user = make_user(f"outage-{uuid.uuid4().hex[:8]}@example.test")
        Membership.objects.create(user=user, account=account, role=Role.OWNER)
        _, raw = apikey_create(
            account=account, name="outage", scopes=["monitors:read"], actor=Actor.system("t")
        )
        session_key = _session_for(user)

    env = subprocess_env(
        database_url=private_postgres.url(),
        STATUSPOOL_VAR_DIR=tmp_path / "var",
        DATABASE_CONN_MAX_AGE=60,
        DATABASE_CONNECT_TIMEOUT=2,
        DATABASE_STATEMENT_TIMEOUT=1,
    )
    (server,) = Gunicorn.start_many(1, env, workers=1, threads=2, log_dir=tmp_path)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {raw}"
    page = requests.Session()
    page.cookies.set("sessionid", session_key)
    v2 = lambda: api.get(f"{server.url}/v2/monitors", timeout=30)  # noqa: E731
    dashboard = lambda: page.get(f"{server.url}/monitors/", timeout=30)  # noqa: E731
    try:
        assert v2().status_code == 200
        assert dashboard().status_code == 200

        private_postgres.stop()
        for _ in range(4):
            _assert_api_unavailable(v2())
        _assert_page_unavailable(dashboard())
        token = requests.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": "x"},
            auth=("client", "secret"),
            timeout=30,
        )
        assert token.status_code == 503
        assert token.json()["error"] == "temporarily_unavailable"
        # The device flow (issue 17): the CLI's request and the person's /device page.
        device = requests.post(
            f"{server.url}/oauth/device_authorization", data={"client_id": "cli"}, timeout=30
        )
        assert device.status_code == 503
        assert device.json()["error"] == "temporarily_unavailable"
        _assert_page_unavailable(page.get(f"{server.url}/device", timeout=30))

        private_postgres.start()  # recovery without touching gunicorn
        assert v2().status_code == 200
        assert dashboard().status_code == 200

        private_postgres.pause()
        response, took = _timed(v2)  # on the established connection: the watchdog cuts it
        _assert_api_unavailable(response)
        assert took < 6, took
        response, took = _timed(dashboard)  # a new connection: connect_timeout
        _assert_page_unavailable(response)
        assert took < 6, took
        private_postgres.resume()
        assert v2().status_code == 200
        assert dashboard().status_code == 200
    finally:
        private_postgres.resume()
        server.stop()

    log = server.output()
    assert "Traceback" not in log, log[-3000:]
    assert "Internal Server Error" not in log
    # Nine failed requests, one log line (the interval is 60 s).
    assert log.count("Database unavailable during") == 1, log[-3000:]

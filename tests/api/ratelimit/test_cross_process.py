"""The limits hold across processes: a gunicorn with two workers, clients in two processes.

Real PostgreSQL and Redis (the test database is served by gunicorn too), real plan numbers.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django_ratelimit.core import _get_window

from tests.api.ratelimit.conftest import issue_key
from tests.api.ratelimit.fire import fire

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn, two worker processes, on the test database and the test Redis."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "DATABASE_CONN_MAX_AGE": "0"}
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "statuspool.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_for_fresh_window(*identities, needed=30):
    """Counters reset at a per-identity second: start where none of them rolls over mid-test."""
    while True:
        now = time.time()
        left = min(_get_window(identity, 60) - now for identity in identities)
        if left >= needed:
            return
        time.sleep(max(left, 0) + 1.1)


def _fire_from_two_processes(url, bearer, count, method="GET"):
    """Half the requests from a second process, half from threads of this one, concurrently."""
    other = subprocess.Popen(
        [sys.executable, "-m", "tests.api.ratelimit.fire", url, bearer, str(count // 2), "8", method],
        cwd=ROOT, stdout=subprocess.PIPE,
    )  # fmt: skip
    here: list[dict] = []
    thread = threading.Thread(
        target=lambda: here.extend(fire(url, bearer, count - count // 2, 8, method))
    )
    thread.start()
    out, _ = other.communicate(timeout=120)
    thread.join(120)
    assert other.returncode == 0
    return here + json.loads(out)


@pytest.mark.django_db(transaction=True)
def test_700_reads_from_two_processes_exactly_600_pass(server, team_account):
    key, bearer = issue_key(team_account, scopes=["monitors:read"])
    _wait_for_fresh_window(f"key:{key.pk}")
    results = _fire_from_two_processes(f"{server}/v2/monitors", bearer, 700)

    statuses = Counter(r["status"] for r in results)
    assert statuses == {200: 600, 429: 100}
    served = [r for r in results if r["status"] == 200]
    refused = [r for r in results if r["status"] == 429]
    # Every count from 1 to 600 was handed out exactly once, across both server processes.
    assert sorted(int(r["X-RateLimit-Remaining"]) for r in served) == list(range(600))
    assert {r["X-RateLimit-Limit"] for r in results} == {"600"}
    assert {r["X-RateLimit-Resource"] for r in results} == {"read"}
    assert len({r["X-RateLimit-Reset"] for r in results}) == 1  # one window
    for response in refused:
        assert response["X-RateLimit-Remaining"] == "0"
        assert response["Retry-After"].isdigit() and int(response["Retry-After"]) >= 1
    assert all(r["Retry-After"] is None for r in served)


@pytest.mark.django_db(transaction=True)
def test_write_bucket_second_key_and_enterprise_across_processes(
    server, team_account, enterprise_account
):
    key, bearer = issue_key(team_account)
    _, other_bearer = issue_key(team_account)
    _wait_for_fresh_window(f"key:{key.pk}", needed=20)
    writes = _fire_from_two_processes(f"{server}/v2/monitors", bearer, 130, method="POST")
    # Writes are counted whatever their outcome: an empty body is a 400 validation error.
    assert Counter(r["status"] for r in writes) == {400: 120, 429: 10}
    assert {r["X-RateLimit-Limit"] for r in writes} == {"120"}
    assert {r["X-RateLimit-Resource"] for r in writes} == {"write"}

    read = fire(f"{server}/v2/monitors", bearer, 1, 1)[0]
    assert (read["status"], read["X-RateLimit-Remaining"]) == (200, "599")
    second = fire(f"{server}/v2/monitors", other_bearer, 1, 1, "POST")[0]
    assert (second["status"], second["X-RateLimit-Remaining"]) == (400, "119")

    _, enterprise = issue_key(enterprise_account)
    enterprise_read = fire(f"{server}/v2/monitors", enterprise, 1, 1)[0]
    enterprise_write = fire(f"{server}/v2/monitors", enterprise, 1, 1, "POST")[0]
    assert enterprise_read["X-RateLimit-Limit"] == "2400"
    assert enterprise_write["X-RateLimit-Limit"] == "600"

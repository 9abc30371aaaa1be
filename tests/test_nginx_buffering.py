"""deploy/nginx.conf in front of gunicorn, with real processes: slow clients do not stall others.

gunicorn with one sync worker is held by a client that sends its request slowly (the issue's
"ten slow-body clients stall half of one instance's requests"). Straight to gunicorn, a quick
request waits until the slow one is complete; through nginx (our config, only the upstream address
and listen port changed) it is answered while the slow client is still sending.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_SECONDS = 4.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port, process, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"{what} did not start")


@pytest.fixture(scope="module")
def gunicorn():
    """One sync worker, one thread: the configuration a slow client can hold completely."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "statuspool.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--threads", "1", "--timeout", "60",
         "-c", "python:statuspool.gunicorn_conf", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "DATABASE_CONN_MAX_AGE": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_listening(port, server, "gunicorn")
    yield port
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def nginx(gunicorn, tmp_path_factory):
    yield from _nginx(gunicorn, tmp_path_factory)


@pytest.fixture(scope="module")
def nginx_without_web(tmp_path_factory):
    """Our nginx while gunicorn is not there (restarting, stopped): nothing listens upstream."""
    yield from _nginx(_free_port(), tmp_path_factory)


def _nginx(upstream_port, tmp_path_factory):
    assert Path(NGINX).exists(), "nginx is needed (.ci/run installs nginx-light)"
    prefix = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server web:8000;" in conf and "listen 8080;" in conf
    conf = conf.replace("server web:8000;", f"server 127.0.0.1:{upstream_port};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {prefix}/nginx.pid;\nuser root;")
    temp = "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temp, 1)
    (prefix / "nginx.conf").write_text(conf)
    server = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _wait_listening(
        port, server, f"nginx: {server.stderr.read().decode() if server.poll() else ''}"
    )
    yield port
    server.terminate()
    server.wait(timeout=30)


def _slow_request(port, events):
    """Sends its request headers over SLOW_SECONDS, then reads the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(b"GET /healthz?check=redis HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        steps = 8
        for step in range(steps):
            time.sleep(SLOW_SECONDS / steps)
            connection.sendall(f"X-Slow-{step}: {'x' * 20}\r\n".encode())
        connection.sendall(b"Connection: close\r\n\r\n")
        events.append(("slow sent", time.monotonic()))
        assert connection.recv(100).startswith(b"HTTP/1.1 200")


def _race(port) -> list[str]:
    """The order in which the slow client finished sending and a quick request was answered."""
    events = []
    slow = threading.Thread(target=_slow_request, args=(port, events))
    slow.start()
    time.sleep(SLOW_SECONDS / 4)  # the slow client holds the connection by now
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?check=redis", timeout=60) as r:
        assert r.status == 200
    events.append(("quick answered", time.monotonic()))
    slow.join(timeout=60)
    return [name for name, _ in sorted(events, key=lambda event: event[1])]


def test_straight_to_gunicorn_a_slow_client_holds_up_a_quick_request(gunicorn):
    assert _race(gunicorn) == ["slow sent", "quick answered"]


def test_through_nginx_the_quick_request_is_answered_while_the_slow_one_sends(nginx):
    assert _race(nginx) == ["quick answered", "slow sent"]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_without_gunicorn_v2_answers_503_json_with_retry_after(nginx_without_web):
    status, headers, body = _get(f"http://127.0.0.1:{nginx_without_web}/v2/monitors")
    assert status == 503
    assert headers["Content-Type"] == "application/json" and headers["Retry-After"] == "5"
    assert json.loads(body)["error"]["code"] == "service_unavailable"


def test_without_gunicorn_the_dashboard_answers_a_503_page(nginx_without_web):
    status, headers, body = _get(f"http://127.0.0.1:{nginx_without_web}/login/")
    assert status == 503 and headers["Retry-After"] == "5"
    assert headers["Content-Type"] == "text/html"
    assert b"StatusPool is briefly unavailable" in body


def test_the_apps_own_responses_pass_through(nginx):
    status, headers, body = _get(f"http://127.0.0.1:{nginx}/v2/monitors")
    assert status == 401  # the application's answer, not nginx's
    assert json.loads(body)["error"]["code"] != "service_unavailable"

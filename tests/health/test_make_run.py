"""`make run`'s processes (.ci/serve → supervisord.conf), started for real on a free port.

A killed worker comes back; SIGTERM of the supervisor stops web, worker, beat and all their
children; a busy port stops `make run` before anything starts. Real PostgreSQL (the test database)
and Redis (the session's key prefix, inherited through the environment).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(tmp_path, port) -> dict:
    env = {**os.environ, "DATABASE_URL": _database_url(), "DATABASE_CONN_MAX_AGE": "0"}
    env.update(PORT=str(port), STATUSPOOL_VAR_DIR=str(tmp_path / "var"), HEALTH_BEAT_MAX_AGE="30")
    env.pop("SITE_URL", None)
    return env


def _descendants(root: int) -> dict[int, str]:
    """{pid: command line} of every living process below ``root`` (from /proc)."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = commands[child].decode(errors="replace")
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _ctl(env, *args) -> str:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(ROOT / "supervisord.conf"), *args],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return result.stdout.strip()


def _wait_for(condition, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _health(port, query=""):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz{query}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None, None


@pytest.mark.django_db(transaction=True)
def test_supervised_processes_restart_and_stop_together(tmp_path):
    port = _free_port()
    env = _env(tmp_path, port)
    log = tmp_path / "make-run.log"
    with open(log, "wb") as output:
        supervisor = subprocess.Popen(
            ["bash", ".ci/serve"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        # The web answers, and beat's heartbeat and the broker make /healthz all green.
        _wait_for(lambda: _health(port)[0] == 200, f"a healthy /healthz\n{log.read_text()[-3000:]}")

        # supervisord calls a program RUNNING once it has stayed up startsecs (2 s); on a quiet
        # machine /healthz can be green before that.
        def running(status, name):
            return f"{name} " in status and "RUNNING" in status.split(name, 1)[1].splitlines()[0]

        _wait_for(
            lambda: all(running(_ctl(env, "status"), n) for n in ("web", "worker", "beat")),
            "web, worker and beat RUNNING",
        )
        status = _ctl(env, "status")
        for name in ("web", "worker", "beat"):
            assert running(status, name)
        processes = _descendants(supervisor.pid)
        assert any("gunicorn" in command for command in processes.values())
        assert any("celery -A statuspool worker" in command for command in processes.values())
        assert any("celery -A statuspool beat" in command for command in processes.values())

        # A worker killed outright (as by the OOM killer) is started again.
        worker = int(_ctl(env, "pid", "worker"))
        os.kill(worker, signal.SIGKILL)
        new_worker = _wait_for(
            lambda: (
                (pid := _ctl(env, "pid", "worker")).isdigit()
                and int(pid) not in (0, worker)
                and int(pid)
            ),
            "the worker to be restarted",
        )
        _wait_for(lambda: "RUNNING" in _ctl(env, "status", "worker"), "the new worker to run")
        assert _alive(new_worker)
        processes.update(_descendants(supervisor.pid))

        # SIGTERM of the supervisor: everything it started stops, and the port is free again.
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=90) == 0
        left = {pid: command for pid, command in processes.items() if _alive(pid)}
        assert not left, left
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            for pid in _descendants(supervisor.pid):
                with __import__("contextlib").suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    output = log.read_text()
    # A clean stop: each main process ended its children and exited by itself (Celery's warm
    # shutdown ends with its own SIGTERM), none had to be killed after stopwaitsecs.
    for name in ("web", "worker", "beat"):
        stopped = re.search(rf"stopped: {name} \((.*?)\)", output)
        assert stopped and stopped.group(1) in ("exit status 0", "terminated by SIGTERM"), name
    assert f"Serving http://127.0.0.1:{port}" in output
    assert f"http://127.0.0.1:{port}/settings/api-access/" in output  # SITE_URL follows PORT


def test_a_busy_port_stops_make_run_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PORT": str(port), "STATUSPOOL_VAR_DIR": str(tmp_path / "var")}
        result = subprocess.run(
            ["bash", ".ci/serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is not available" in result.stderr
    assert "make run PORT=" in result.stderr
    assert "Serving" not in result.stdout
    assert not (tmp_path / "var" / "supervisord.pid").exists()


@pytest.mark.django_db(transaction=True)
def test_when_make_run_is_terminated_everything_stops(tmp_path):
    """GNU make does not pass SIGTERM on to .ci/serve; supervisord notices its starter is gone."""
    port = _free_port()
    env = _env(tmp_path, port)
    log = tmp_path / "make-run.log"
    # Stands in for make: runs .ci/serve as a child and dies of SIGTERM without passing it on.
    starter_code = "import subprocess; subprocess.run(['bash', '.ci/serve'])"
    with open(log, "wb") as output:
        starter = subprocess.Popen(
            [sys.executable, "-c", starter_code],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    processes = {}
    try:
        _wait_for(
            lambda: _ctl(env, "status").count("RUNNING") == 4,
            f"web, worker, beat and the watcher to run\n{log.read_text()[-3000:]}",
        )
        processes = _wait_for(
            lambda: (
                (found := _descendants(starter.pid))
                and sum("gunicorn" in command for command in found.values()) == 3  # master + 2
                and found
            ),
            "gunicorn's workers",
        )
        assert any("celery -A statuspool worker" in command for command in processes.values())
        assert any("celery -A statuspool beat" in command for command in processes.values())
        starter.send_signal(signal.SIGTERM)
        starter.wait(timeout=30)
        _wait_for(
            lambda: not any(_alive(pid) for pid in processes),
            f"every process to stop\n{log.read_text()[-3000:]}",
        )
    finally:
        for pid in processes:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    # The watcher asked supervisord to stop (its own message goes to the terminal's stderr).
    assert "received SIGTERM indicating exit request" in log.read_text()

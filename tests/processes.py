"""Private PostgreSQL, Redis and gunicorn processes for fault tests: started, paused and stopped
by the test itself, never the shared servers other tests (and other people) rely on.

* ``PrivatePostgres``: ``initdb`` + ``postgres`` as the ``postgres`` user (both refuse root) in a
  temporary directory that user owns, on a free port, fsync off; one migrated database.
* ``PrivateRedis``: ``redis-server`` with its append-only file, as in docker-compose.
* ``Gunicorn``: the project's WSGI app in a subprocess pointed at them.
* ``on_private_stack``: points this test process's Django (default database and cache) at them for
  a ``with`` block, so a test arranges data and calls views with the ordinary ORM and test client.

Each has ``pause()`` (SIGSTOP: the port still accepts connections, nothing answers: a hung server)
and ``stop()`` / ``start()``. The module-scoped fixtures at the bottom share one migrated
PostgreSQL per test module: a fault test must leave it running (``start``/``resume``) when done.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_PG_BIN_DIRS = ["/usr/local/bin", *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.05)


def _pg_binary(name: str) -> str:
    for folder in _PG_BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"PostgreSQL's {name} not found in {_PG_BIN_DIRS}")


class _Process:
    process: subprocess.Popen | None = None

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum) -> None:
        os.kill(self.pid, signum)

    @property
    def pid(self) -> int:
        return self.process.pid


class PrivatePostgres(_Process):
    """One PostgreSQL cluster of our own, on a free port, owned by the ``postgres`` user."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sp-faults-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            [_pg_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
        )  # fmt: skip
        self.process = None

    def _command(self, argv: list[str]) -> list[str]:
        if not self._as_postgres:
            return argv
        # setpriv execs (runuser would stay in between as a parent), so the Popen pid is the
        # postmaster itself and signals reach it directly.
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]

    def _run(self, argv):
        subprocess.run(self._command(argv), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - kept open by the server
        self.process = subprocess.Popen(
            self._command(
                [_pg_binary("postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
            ),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                self.execute("select 1", dbname="postgres")
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "private PostgreSQL did not start:\n"
                        + (self.dir / "postgres.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.1)

    def _tree(self) -> list[int]:
        """The postmaster and every process it forked (backends, checkpointer, …)."""
        return [self.process.pid, *_children(self.process.pid)]

    def pause(self) -> None:
        # Every process of the cluster: a paused postmaster alone would still let established
        # connections (a gunicorn's persistent ones) be answered by their backends.
        os.kill(self.process.pid, signal.SIGSTOP)  # first, so it forks nothing new meanwhile
        for pid in self._tree()[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._tree():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.resume()
        self.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def url(self, dbname="statuspool") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str, dbname="statuspool"):
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=2) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def create_database_like(self, settings_dict: dict, dbname="statuspool") -> None:
        """A copy of the (migrated) test database: pg_dump into ours, a second instead of a
        migrate's 5-20 s on a busy machine."""
        self.execute(f"create database {dbname}", dbname="postgres")
        env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "-h", settings_dict.get("HOST") or "127.0.0.1",
             "-p", str(settings_dict.get("PORT") or 5432), "-U", settings_dict.get("USER") or "postgres",
             settings_dict["NAME"]],
            env=env, capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", self.url(dbname)],
            input=dump.stdout, capture_output=True, check=True, timeout=120,
        )  # fmt: skip

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


class PrivateRedis(_Process):
    """One redis-server of our own, with its append-only file (as docker-compose runs it)."""

    def __init__(self, appendonly=True):
        self.dir = Path(tempfile.mkdtemp(prefix="sp-faults-redis-"))
        self.port = free_port()
        self.appendonly = appendonly
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.process, "private Redis")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, db=0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db=0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=2)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def subprocess_env(*, database_url: str, redis_url: str | None = None, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, **{k: str(v) for k, v in extra.items()}}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Gunicorn(_Process):
    """The project under gunicorn in a subprocess; ``url`` once it listens."""

    def __init__(self, env: dict, *, workers=1, threads=4, log_dir: Path):
        self.port = free_port()
        self.log = log_dir / f"gunicorn-{self.port}.log"
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "statuspool.wsgi:application", "--bind",
                 f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", str(threads),
                 "--log-level", "warning", "--timeout", "60"],
                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    @classmethod
    def start_many(cls, count: int, env: dict, **options) -> list["Gunicorn"]:
        """``count`` instances started side by side (each takes seconds to import Django)."""
        servers = [cls(env, **options) for _ in range(count)]
        try:
            for server in servers:
                server.wait_ready()
        except BaseException:
            for server in servers:
                server.stop()
            raise
        return servers

    def wait_ready(self) -> "Gunicorn":
        try:
            wait_for_port(self.port, self.process, "gunicorn")
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@contextlib.contextmanager
def on_private_stack(postgres: PrivatePostgres | None = None, redis: PrivateRedis | None = None):
    """Point this process's default database (and cache) at the private servers for the block.

    For ``django_db(transaction=True)`` tests: the ordinary ORM, services and test client then
    work on the private servers; the shared test database is untouched and restored after.
    """
    from django.db import connection
    from django.test import override_settings

    saved = dict(connection.settings_dict)
    stack = contextlib.ExitStack()
    if postgres is not None:
        connection.close()
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(postgres.port), NAME="statuspool", USER="postgres",
            PASSWORD="", CONN_MAX_AGE=0,
        )  # fmt: skip
    if redis is not None:
        from django.conf import settings

        caches = {"default": {**settings.CACHES["default"], "LOCATION": redis.url()}}
        stack.enter_context(override_settings(CACHES=caches, CELERY_BROKER_URL=redis.url()))
    try:
        with stack:
            yield
    finally:
        if postgres is not None:
            with contextlib.suppress(Exception):
                connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


@pytest.fixture(scope="session")
def _private_postgres_server(django_db_setup, django_db_blocker):
    """One private PostgreSQL for the session, with a copy of the migrated test database."""
    from django.db import connection

    server = PrivatePostgres()
    try:
        server.start()
        server.create_database_like(connection.settings_dict)
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_postgres(_private_postgres_server):
    """The session's private PostgreSQL, running again after the test whatever it did to it."""
    yield _private_postgres_server
    _private_postgres_server.resume()
    if _private_postgres_server.process.poll() is not None:
        _private_postgres_server.start()


@pytest.fixture
def private_redis():
    """A fresh Redis of the test's own (about 50 ms)."""
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.destroy()

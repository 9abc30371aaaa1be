"""What the /v2 pipeline costs: GET /v2/monitors through all of it vs the same view without it.

One gunicorn (2 workers x 4 threads, loopback only) serves the real application with one extra,
bench-only URL (``bench/bare_urls.py``): ``/bench/bare/monitors`` is the same view with
authentication, IP allowlist, scope check, rate limit, usage tracking and request log removed.
``/v2/monitors`` goes through all of it with an Enterprise key that has an IP allowlist.
Rounds alternate between the two, with the same bounded concurrent client (threads, keep-alive
connections, pure Python), and the median requests/second of each is reported with their ratio.

Isolation: a throw-away database (``<name>_bench_<pid>`` on the PostgreSQL server of DATABASE_URL,
else a temporary SQLite file), a temporary var/ directory, a cache key prefix of its own and, with
REDIS_URL, a Redis database of its own that must be empty at the start and is emptied at the end
(``Environment``; BENCH_REDIS_URL or BENCH_REDIS_DB, 15 by default, on REDIS_URL's server). The rate limit is raised so that it is counted but never refuses.

    python -m bench.pipeline [--requests N] [--concurrency C] [--rounds R]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess  # nosec B404  # benchmark starts its own gunicorn and manage.py
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from statuspool import envfile

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 300
MONITORS = 25
FULL_PATH, BARE_PATH = "/v2/monitors", "/bench/bare/monitors"


# --- set-up, in a subprocess with the bench environment -----------------------------------------


def seed() -> None:
    """Create the benchmark account, its monitors and an Enterprise key; print them as JSON."""
    import django

    django.setup()
    from apikeys.services import apikey_create
    from audit.services import Actor
    from bench.seeding import seed_account

    account, _ = seed_account(MONITORS)
    key, raw = apikey_create(
        account=account,
        name="bench",
        scopes=["monitors:read"],
        actor=Actor.system("bench"),
        notify=False,
    )
    key.allowed_networks = ["127.0.0.0/8", "::1/128"]
    key.save(update_fields=["allowed_networks"])
    json.dump({"account_id": account.pk, "bearer": f"Bearer {raw}"}, sys.stdout)


# --- the client ---------------------------------------------------------------------------------


def fire(port: int, path: str, headers: dict, count: int, concurrency: int) -> tuple[float, dict]:
    """Send ``count`` GETs over ``concurrency`` keep-alive connections: (seconds, status counts)."""
    lock = threading.Lock()
    left = [count]
    statuses: dict[int, int] = {}

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not left[0]:
                    break
                left[0] -= 1
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


# --- orchestration ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class Environment:
    """The throw-away database, var/ directory and Redis database of one run.

    Nothing of a running ``make run`` is touched: the database is a new one on the same server
    (dropped afterwards), var/ is a temporary directory, and Redis is BENCH_REDIS_URL, else db
    BENCH_REDIS_DB (15 by default) on REDIS_URL's server. That Redis database must be empty when
    the run starts (it refuses otherwise, naming it) and is emptied again at the end: every key
    in it was written by this run (cache entries under its own prefix, the request log, counters).
    """

    def __init__(self, settings: str = "bench.bare_settings"):
        self.tmp = Path(tempfile.mkdtemp(prefix="statuspool-bench-"))
        self.prefix = f"bench{os.getpid()}"
        self.redis_claimed = False
        self.env = {
            **os.environ,
            "STATUSPOOL_VAR_DIR": str(self.tmp),
            "CACHE_KEY_PREFIX": self.prefix,
            "DJANGO_SETTINGS_MODULE": settings,
            "RATE_ENTERPRISE_READ": "100000000",  # counted on every request, never refusing
            "DATABASE_CONN_MAX_AGE": "60",
        }
        # Secrets of the run's own, unless set: the seeding process and the server must share
        # them (a key digested with one pepper is unknown to a server with another).
        for line in envfile.render().splitlines():
            name, _, value = line.partition("=")
            if value and not line.startswith("#"):
                self.env.setdefault(name, value)
        self.pg_url = os.environ.get("DATABASE_URL", "")
        self.db_name = None
        if self.pg_url.startswith("postgres"):
            self.db_name = (
                f"{urlsplit(self.pg_url).path.lstrip('/') or 'statuspool'}_bench_{os.getpid()}"
            )
            self.env["DATABASE_URL"] = _with_path(self.pg_url, f"/{self.db_name}")
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        self.redis_url = os.environ.get("BENCH_REDIS_URL", "")
        if not self.redis_url and os.environ.get("REDIS_URL"):
            bench_db = os.environ.get("BENCH_REDIS_DB", "15")
            self.redis_url = _with_path(os.environ["REDIS_URL"], f"/{bench_db}")
        if self.redis_url:
            self.env["REDIS_URL"] = self.redis_url
        else:
            self.env.pop("REDIS_URL", None)

    def describe(self) -> str:
        database = f"PostgreSQL {self.db_name}" if self.db_name else "SQLite (temporary file)"
        cache = f"Redis {self.redis_url} (prefix {self.prefix})" if self.redis_url else "file cache"
        return f"database: {database}; cache: {cache}; var: {self.tmp}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(_with_path(self.pg_url, "/postgres"), autocommit=True) as admin:
            admin.execute(statement)

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def claim_redis(self) -> None:
        """Refuse a Redis database that holds anything: it would be someone else's."""
        if self.redis_url:
            keys = self._redis().dbsize()
            if keys:  # not claimed: release_redis will leave it alone
                raise SystemExit(
                    f"The bench's Redis database {self.redis_url} holds {keys} keys: it is in use. "
                    "Point BENCH_REDIS_URL (or BENCH_REDIS_DB) at an empty database of your own."
                )
            self.redis_claimed = True

    def release_redis(self) -> str:
        # The database was empty at the start (claim_redis), so every key in it is this run's;
        # one it refused (someone else's) is never emptied.
        if not self.redis_claimed:
            return "Redis database left as it was"
        client, deleted = self._redis(), 0
        for name in client.scan_iter(count=1000):
            deleted += client.delete(name)
        return f"deleted {deleted} Redis keys ({client.dbsize()} left)"

    def create(self, seeder: str = "bench.pipeline") -> dict:
        self.claim_redis()
        if self.db_name:
            self._admin(f'CREATE DATABASE "{self.db_name}"')
        run = dict(cwd=ROOT, env=self.env, check=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], **run)  # nosec B603  # fixed argument list, no shell, no user input
        seeded = subprocess.run(  # nosec B603  # fixed argument list, no shell, no user input
            [sys.executable, "-m", seeder, "seed"], capture_output=True, text=True, **run
        )
        return json.loads(seeded.stdout)

    def destroy(self) -> str:
        done = []
        if self.db_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            done.append(f"dropped {self.db_name}")
        if self.redis_url:
            done.append(self.release_redis())
        shutil.rmtree(self.tmp, ignore_errors=True)
        done.append(f"removed {self.tmp}")
        return "cleaned up: " + ", ".join(done)


def start_server(env: dict, port: int, log: Path, sync: bool = False) -> subprocess.Popen:
    workers = (
        ["--worker-class", "sync"] if sync else ["--worker-class", "gthread", "--threads", "4"]
    )
    with open(log, "wb") as output:
        server = subprocess.Popen(  # nosec B603  # fixed argument list, no shell, no user input
            [sys.executable, "-m", "gunicorn", "statuspool.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "2", *workers, "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start within 60 s")


def measure(args, port: int, bearer: str) -> dict:
    targets = {
        "full pipeline": (FULL_PATH, {"Authorization": bearer}),
        "bare view": (BARE_PATH, {}),
    }
    for name, (path, headers) in targets.items():  # both must answer the same monitors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers=headers)
        body = json.loads(connection.getresponse().read())
        connection.close()
        if len(body.get("results", ())) != MONITORS:
            raise RuntimeError(f"{name} ({path}) did not list the {MONITORS} monitors: {body}")
    for path, headers in targets.values():  # warm-up: connections, caches, GeoIP data
        _, statuses = fire(port, path, headers, args.warmup, args.concurrency)
        if set(statuses) != {200}:
            raise RuntimeError(f"warm-up of {path} answered {statuses}")
    rates: dict[str, list[float]] = {name: [] for name in targets}
    started = time.monotonic()
    for round_number in range(1, args.rounds + 1):
        for name, (path, headers) in targets.items():
            seconds, statuses = fire(port, path, headers, args.requests, args.concurrency)
            if set(statuses) != {200}:
                raise RuntimeError(f"{name}: unexpected answers {statuses}")
            rates[name].append(args.requests / seconds)
            print(f"  round {round_number}: {name:14} {args.requests / seconds:8.0f} req/s")
        if time.monotonic() - started > DEADLINE_SECONDS:
            print("  (time bound reached, stopping early)")
            break
    return {name: statistics.median(values) for name, values in rates.items()}


def _load() -> str:
    """The machine's load average: the figures mean little when other work shares the CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def round_arguments(doc: str, unit: str) -> argparse.ArgumentParser:
    """The options of a benchmark that alternates rounds of GETs between ``unit``s (targets, kinds)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help=f"requests per round and {unit}")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--warmup", type=int, default=200, help=f"requests per {unit} first")
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # `python -m bench` calls main() with its own arguments in sys.argv
        argv = sys.argv[1:] if Path(sys.argv[0]).name == "pipeline.py" else []
    if argv[:1] == ["seed"]:
        seed()
        return 0
    args = round_arguments(__doc__, "target").parse_args(argv)

    environment = Environment()
    server = None
    try:
        print(environment.describe())
        print(
            f"{args.rounds} rounds x {args.requests} GETs per target, {args.concurrency} connections"
        )
        print(f"before: {_load()}")
        seeded = environment.create()
        environment.env["BENCH_ACCOUNT_ID"] = str(seeded["account_id"])
        port = _free_port()
        server = start_server(environment.env, port, environment.tmp / "gunicorn.log")
        medians = measure(args, port, seeded["bearer"])
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        print(environment.destroy())
    print(f"after:  {_load()}")
    full, bare = medians["full pipeline"], medians["bare view"]
    print(f"full pipeline: {full:8.0f} req/s (median)")
    print(f"bare view:     {bare:8.0f} req/s (median)")
    latency = {name: 1000 * args.concurrency / rate for name, rate in medians.items()}
    print(f"ratio full/bare: {full / bare:.2f}")
    print(
        f"mean latency at {args.concurrency} connections (Little's law): "
        f"{latency['full pipeline']:.2f} ms vs {latency['bare view']:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

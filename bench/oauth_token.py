"""What /oauth/token costs: authorization-code exchanges and refreshes, p50/p95 and statements.

Issue 12's targets: p50 ≤ 10 ms and ≤ 8 SQL statements for each grant type. One gunicorn (2 sync
workers, loopback only) serves the real application; one client sends the requests one after the
other over a keep-alive connection (latency, not throughput), with HTTP Basic client
authentication: ``--requests`` code exchanges (codes seeded with their PKCE verifiers, as the
consent screen leaves them), then one refresh of each refresh token those exchanges returned
(each a full rotation). Every answer must be 200.

The statements are counted in a separate process on the same database with Django's
``CaptureQueriesContext`` around one exchange and one refresh, inside an outer transaction (so the
view's own transaction shows as its SAVEPOINT/RELEASE pair, standing for BEGIN/COMMIT, as in
``tests/oauthapps/test_token_endpoint_queries.py``; what runs once it commits is counted too),
rolled back afterwards.

Isolation as every benchmark here (``bench.pipeline.Environment``): its own database, var/ and
Redis database, removed at the end.

    python -m bench.oauth_token [--requests N] [--warmup W]
"""

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess  # nosec B404  # the benchmark runs its own counting process
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.pipeline import ROOT, Environment, _free_port, _load, start_server

REDIRECT_URI = "https://bench.example.com/cb"
TOKEN_PATH = "/oauth/token"  # nosec B105  # a URL path, not a secret
CODES_VARIABLE = "BENCH_OAUTH_CODES"  # how many codes the seeding process creates


# --- set-up and counting, in subprocesses with the bench environment ----------------------------


def _new_code(application, authorization) -> tuple[str, str]:
    """A code as the consent screen leaves it (stored as its digest, PKCE S256): (code, verifier)."""
    import hashlib
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from oauthapps.models import Grant

    code, verifier = secrets.token_urlsafe(30), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    Grant.objects.create(
        application=application,
        user=authorization.user,
        authorization=authorization,
        code=code,
        expires=timezone.now() + timedelta(hours=1),  # the bench may take longer than 60 s
        redirect_uri=REDIRECT_URI,
        scope="monitors:read",
        code_challenge=challenge.decode().rstrip("="),
        code_challenge_method="S256",
    )
    return code, verifier


def seed(count: int) -> None:
    """An account, a confidential client, its owner's grant and ``count`` codes, as JSON."""
    import django

    django.setup()
    from audit.services import Actor
    from bench.seeding import seed_account
    from oauthapps import services

    account, owner = seed_account(0)
    system = Actor.system("bench")
    application, secret = services.application_register(
        account=account,
        name="bench client",
        description="",
        redirect_uris=[REDIRECT_URI],
        actor=system,
        created_by=owner,
    )
    authorization = services.authorization_approve(
        user=owner, application=application, account=account, scopes=["monitors:read"], actor=system
    )
    codes = [_new_code(application, authorization) for _ in range(count)]
    json.dump({"client_id": application.client_id, "secret": secret, "codes": codes}, sys.stdout)


def count(client_id: str, secret: str) -> None:
    """Statements of one code exchange and one refresh (rolled back), as JSON."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client, TestCase
    from django.test.utils import CaptureQueriesContext

    from oauthapps.models import Application, Authorization

    application = Application.objects.get(client_id=client_id)
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=_basic(client_id, secret))
    statements = {}
    after_commit = TestCase.captureOnCommitCallbacks(execute=True)  # what runs once committed
    with transaction.atomic():
        code, verifier = _new_code(application, Authorization.objects.get())
        with CaptureQueriesContext(connection) as exchange, after_commit:
            response = client.post(TOKEN_PATH, _exchange_form(code, verifier))
        assert response.status_code == 200, response.content  # nosec B101  # a benchmark check
        statements["authorization_code"] = [query["sql"] for query in exchange]
        refresh_token = response.json()["refresh_token"]
        after_commit = TestCase.captureOnCommitCallbacks(execute=True)
        with CaptureQueriesContext(connection) as refresh, after_commit:
            response = client.post(TOKEN_PATH, _refresh_form(refresh_token))
        assert response.status_code == 200, response.content  # nosec B101  # a benchmark check
        statements["refresh_token"] = [query["sql"] for query in refresh]
        transaction.set_rollback(True)
    json.dump(statements, sys.stdout)


# --- the client -----------------------------------------------------------------------------------


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _exchange_form(code: str, verifier: str) -> dict:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }


def _refresh_form(refresh_token: str) -> dict:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def post_each(port: int, authorization: str, forms: list[dict]) -> tuple[list[float], list[dict]]:
    """POST every form in turn over one keep-alive connection: (milliseconds each, bodies)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Authorization": authorization,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    latencies, bodies = [], []
    for form in forms:
        started = time.perf_counter()
        connection.request("POST", TOKEN_PATH, body=urlencode(form), headers=headers)
        response = connection.getresponse()
        body = response.read()
        latencies.append(1000 * (time.perf_counter() - started))
        if response.status != 200:
            raise RuntimeError(f"{form['grant_type']} answered {response.status}: {body[:300]}")
        bodies.append(json.loads(body))
    connection.close()
    return latencies, bodies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _statements(environment: Environment, seeded: dict) -> dict:
    counted = subprocess.run(  # nosec B603  # fixed argument list, no shell, no user input
        [sys.executable, "-m", "bench.oauth_token", "count", seeded["client_id"], seeded["secret"]],
        cwd=ROOT, env=environment.env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(counted.stdout)


def measure(args, port: int, seeded: dict) -> dict[str, list[float]]:
    authorization = _basic(seeded["client_id"], seeded["secret"])
    codes = [_exchange_form(code, verifier) for code, verifier in seeded["codes"]]
    warm, timed = codes[: args.warmup], codes[args.warmup :]
    _, warm_bodies = post_each(port, authorization, warm)
    post_each(port, authorization, [_refresh_form(b["refresh_token"]) for b in warm_bodies])
    exchanges, bodies = post_each(port, authorization, timed)
    refreshes, _ = post_each(
        port, authorization, [_refresh_form(b["refresh_token"]) for b in bodies]
    )
    return {"authorization_code": exchanges, "refresh_token": refreshes}


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:] if Path(sys.argv[0]).name == "oauth_token.py" else []
    if argv[:1] == ["seed"]:
        seed(int(os.environ[CODES_VARIABLE]))
        return 0
    if argv[:1] == ["count"]:
        count(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per grant type")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per grant type")
    args = parser.parse_args(argv)

    environment = Environment()
    server = None
    try:
        print(environment.describe())
        print(f"{args.requests} requests per grant type, one at a time ({args.warmup} warm-up)")
        print(f"before: {_load()}")
        environment.env[CODES_VARIABLE] = str(args.requests + args.warmup)
        seeded = environment.create("bench.oauth_token")
        statements = _statements(environment, seeded)
        port = _free_port()
        server = start_server(environment.env, port, environment.tmp / "gunicorn.log", sync=True)
        latencies = measure(args, port, seeded)
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        print(environment.destroy())
    print(f"after:  {_load()}")
    print(f"{'grant type':20} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11}  target")
    for grant_type, values in latencies.items():
        p50, p95 = statistics.median(values), _percentile(values, 0.95)
        count_ = len(statements[grant_type])
        met = "met" if p50 <= 10 and count_ <= 8 else "NOT met"
        print(f"{grant_type:20} {p50:8.2f} {p95:8.2f} {count_:11d}  p50 ≤ 10 ms, ≤ 8: {met}")
    for grant_type, sql in statements.items():
        print(f"\n{grant_type} statements:")
        for statement in sql:
            print(f"  {statement[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

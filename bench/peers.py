"""The /v2 credential pipeline against its peers, in one interleaved run with an external client.

One gunicorn (2 sync workers, loopback only, ``bench.peers_settings``) serves the real
application and the bench-only peers of ``bench/peers_urls.py``. ``wrk`` (apt: ``wrk``) drives
every target in turn for ``--seconds`` per round; the order rotates each round so no target
always runs first or last. Each target's median requests/second is printed with its spread
(min-max over rounds), the load average before and after every round, and the ratios of issue
12's targets. bench/README.md says how to read it.

Isolation: the database, var/ directory and Redis database are the bench's own (``Environment``
of ``bench.pipeline``), all removed afterwards.

    python -m bench.peers [--seconds S] [--rounds R] [--connections C]
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess  # nosec B404  # benchmark starts its own server processes
import sys
from pathlib import Path

from bench.pipeline import Environment, _free_port, _load, start_server

MONITORS = 20
SETTINGS = "bench.peers_settings"


def seed() -> None:
    """Account, 20 monitors, an owner, an API key, an OAuth token and a DRF token: JSON out."""
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from apikeys.services import apikey_create
    from audit.services import Actor
    from bench.seeding import oauth_access_token, seed_account, seed_oauth_grant

    account, owner = seed_account(MONITORS)
    _, api_key = apikey_create(
        account=account,
        name="bench",
        scopes=["monitors:read"],
        actor=Actor.system("bench"),
        notify=False,
    )
    _, authorization = seed_oauth_grant(account, owner)
    oauth = oauth_access_token(authorization)
    drf = Token.objects.create(user=owner).key
    json.dump(
        {"account_id": account.pk, "api_key": api_key, "oauth": oauth, "drf": drf}, sys.stdout
    )


def targets(seeded: dict) -> dict[str, tuple[str, str]]:
    """Name → (path, Authorization header)."""
    api_key, oauth = f"Bearer {seeded['api_key']}", f"Bearer {seeded['oauth']}"
    drf = f"Token {seeded['drf']}"
    return {
        "API key /v2/credential": ("/v2/credential", api_key),
        "OAuth /v2/credential": ("/v2/credential", oauth),
        "DRF no auth": ("/v2/bench-peers/none", ""),
        "DRF Token": ("/v2/bench-peers/token", drf),
        "DRF Token + throttle": ("/v2/bench-peers/token-throttle", drf),
        "DOT OAuth2Authentication": ("/v2/bench-peers/dot", oauth),
        "API key /v2/monitors": ("/v2/monitors", api_key),
        "DRF Token monitors": ("/v2/bench-peers/token-monitors", drf),
    }


# (label, numerator, denominator, target ratio: met when numerator/denominator >= it)
RATIOS = [
    ("API key vs DRF Token", "API key /v2/credential", "DRF Token", 1.5),
    ("API key vs DOT", "API key /v2/credential", "DOT OAuth2Authentication", 2.0),
    ("API key vs DRF no auth", "API key /v2/credential", "DRF no auth", 0.5),
    ("OAuth vs API key", "OAuth /v2/credential", "API key /v2/credential", 0.85),
    ("monitors: API key vs DRF Token", "API key /v2/monitors", "DRF Token monitors", 1.0),
]


def _wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "bench.peers needs the wrk load generator: sudo apt-get install -y wrk "
            "(or put a wrk binary on PATH)"
        )
    return found


def wrk(binary: str, url: str, header: str, seconds: int, connections: int) -> float:
    """One wrk run: requests/second; refuses a run with any error or non-2xx answer."""
    command = [binary, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", url]
    if header:
        command[1:1] = ["-H", f"Authorization: {header}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # nosec B603  # fixed argument list, no shell, no user input
    problems = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    if problems:
        raise RuntimeError(f"{url}: {problems}\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def check(port: int, named: dict) -> None:
    """Every target answers 200 with the body it should, before anything is measured."""
    import http.client

    for name, (path, header) in named.items():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers={"Authorization": header} if header else {})
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        expected = "results" if "monitors" in name else "rate_limits"
        if response.status != 200 or expected not in body:
            raise RuntimeError(f"{name} ({path}) answered {response.status}: {body}")
        if expected == "results" and len(body["results"]) != MONITORS:
            raise RuntimeError(f"{name} listed {len(body['results'])} monitors, not {MONITORS}")


def measure(args, port: int, named: dict) -> dict[str, list[float]]:
    binary = _wrk()
    base = f"http://127.0.0.1:{port}"
    for path, header in named.values():  # warm-up: connections, caches, imports
        wrk(binary, base + path, header, 1, args.connections)
    rates: dict[str, list[float]] = {name: [] for name in named}
    order = list(named)
    for round_number in range(1, args.rounds + 1):
        shift = (round_number - 1) % len(order)
        print(f"round {round_number} ({_load()})", flush=True)
        for name in order[shift:] + order[:shift]:
            path, header = named[name]
            rate = wrk(binary, base + path, header, args.seconds, args.connections)
            rates[name].append(rate)
            print(f"  {name:26} {rate:8.0f} req/s", flush=True)
    return rates


def report(rates: dict[str, list[float]]) -> int:
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\n{'target':26} {'median':>8} {'min':>8} {'max':>8}  req/s over rounds")
    for name, values in rates.items():
        print(f"{name:26} {medians[name]:8.0f} {min(values):8.0f} {max(values):8.0f}")
    print(f"\n{'ratio (issue 12, item 1)':32} {'median':>7} {'range':>13} {'target':>7}  met")
    unmet = 0
    for label, top, bottom, target in RATIOS:
        ratio = medians[top] / medians[bottom]
        # The spread of a ratio: the worst and best pairing of the two targets' rounds.
        low = min(rates[top]) / max(rates[bottom])
        high = max(rates[top]) / min(rates[bottom])
        met = ratio >= target
        unmet += not met
        print(
            f"{label:32} {ratio:7.2f} {low:6.2f}-{high:<6.2f} {'>= ' + str(target):>7}  "
            f"{'yes' if met else 'NO'}"
        )
    print(f"\n{len(RATIOS) - unmet} of {len(RATIOS)} ratio targets met")
    return unmet


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:] if Path(sys.argv[0]).name == "peers.py" else []
    if argv[:1] == ["seed"]:
        seed()
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per target and round")
    # Nine shorter rounds rather than five longer ones, in about the same time: on a shared VM one
    # run of a target differs from the next by 10-15 %, and a median of nine moves less.
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    args = parser.parse_args(argv)
    _wrk()

    environment = Environment(settings=SETTINGS)
    server = None
    try:
        print(environment.describe())
        print(
            f"{args.rounds} rounds x {args.seconds} s per target, wrk with {args.connections} "
            "connections, gunicorn 2 sync workers"
        )
        seeded = environment.create("bench.peers")
        environment.env["BENCH_ACCOUNT_ID"] = str(seeded["account_id"])
        port = _free_port()
        server = start_server(environment.env, port, environment.tmp / "gunicorn.log", sync=True)
        named = targets(seeded)
        check(port, named)
        try:
            rates = measure(args, port, named)
        except RuntimeError:  # a refused run: what the server said, before its log is removed
            log = (environment.tmp / "gunicorn.log").read_text(errors="replace")
            print(f"gunicorn's log (last 40 lines):\n{''.join(log.splitlines(True)[-40:])}")
            raise
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        print(environment.destroy())
    print(f"after: {_load()}")
    report(rates)
    # The ratios are reported, not enforced: on a shared machine a missed target is a figure.
    return 0


if __name__ == "__main__":
    sys.exit(main())

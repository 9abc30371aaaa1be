"""What DPoP costs on /v2: GET /v2/monitors with an OAuth bearer token vs a DPoP-bound one.

Same gunicorn, isolation and client as ``bench.pipeline`` (its ``Environment``, ``start_server``
and ``fire``). The DPoP requests carry ``Authorization: DPoP …`` and a fresh proof each (ES256,
``ath``, unique ``jti``), so every one pays the signature check and the jti write to Redis. The
proofs are signed before each round (inside their 60-second ``iat`` window), so the client's own
signing does not compete with the server for the CPUs while it is measured.

    python -m bench.oauth_dpop [--requests N] [--concurrency C] [--rounds R]
"""

import json
import statistics
import sys
import time
from pathlib import Path

from bench.pipeline import (
    FULL_PATH,
    ROOT,
    Environment,
    _free_port,
    _load,
    fire,
    round_arguments,
    start_server,
)

MONITORS = 25


def seed() -> None:
    """An Enterprise account, its monitors, an approved OAuth grant and two access tokens."""
    import django

    django.setup()
    from datetime import timedelta

    from joserfc.jwk import ECKey

    from bench.seeding import oauth_access_token, seed_account, seed_oauth_grant

    account, owner = seed_account(MONITORS)
    _, authorization = seed_oauth_grant(account, owner)
    key = ECKey.generate_key("P-256")
    raws = {
        kind: oauth_access_token(authorization, lifetime=timedelta(hours=2), jkt=jkt)
        for kind, jkt in (("bearer", ""), ("dpop", key.thumbprint()))
    }
    json.dump({**raws, "jwk": key.as_dict(private=True)}, sys.stdout)


class ProofHeaders(dict):
    """Headers whose DPoP value is the next pre-signed proof each time a request is sent."""

    def __init__(self, base: dict, proofs: list[str]):
        super().__init__(base)
        self._proofs = iter(proofs)

    def items(self):
        return [*super().items(), ("DPoP", next(self._proofs))]


def proofs_for(key, url: str, token: str, count: int) -> list[str]:
    sys.path.insert(0, str(ROOT / "examples"))
    from statuspool_client import DPoPKey

    signer = DPoPKey(key)
    return [signer.proof("GET", url, token) for _ in range(count)]


def measure(args, port: int, seeded: dict) -> dict:
    from joserfc.jwk import ECKey

    key = ECKey.import_key(seeded["jwk"])
    url = f"http://127.0.0.1:{port}{FULL_PATH}"
    bearer = {"Authorization": f"Bearer {seeded['bearer']}"}
    dpop = {"Authorization": f"DPoP {seeded['dpop']}"}

    def dpop_headers(count):
        return ProofHeaders(dpop, proofs_for(key, url, seeded["dpop"], count))

    for name, headers in (("bearer", bearer), ("dpop", dpop_headers(args.warmup))):
        _, statuses = fire(port, FULL_PATH, headers, args.warmup, args.concurrency)
        if set(statuses) != {200}:
            raise RuntimeError(f"warm-up with the {name} token answered {statuses}")
    rates: dict[str, list[float]] = {"OAuth bearer": [], "OAuth DPoP": []}
    for round_number in range(1, args.rounds + 1):
        for name in rates:
            headers = bearer if name == "OAuth bearer" else dpop_headers(args.requests)
            seconds, statuses = fire(port, FULL_PATH, headers, args.requests, args.concurrency)
            if set(statuses) != {200}:
                raise RuntimeError(f"{name}: unexpected answers {statuses}")
            rates[name].append(args.requests / seconds)
            print(f"  round {round_number}: {name:13} {args.requests / seconds:8.0f} req/s")
    return {name: statistics.median(values) for name, values in rates.items()}


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:] if Path(sys.argv[0]).name == "oauth_dpop.py" else []
    if argv[:1] == ["seed"]:
        seed()
        return 0
    args = round_arguments(__doc__, "kind").parse_args(argv)

    environment = Environment()
    server = None
    try:
        print(
            f"{args.rounds} rounds x {args.requests} GETs per kind, {args.concurrency} connections"
        )
        print(f"before: {_load()}")
        print(environment.describe())
        seeded = environment.create("bench.oauth_dpop")
        port = _free_port()
        server = start_server(environment.env, port, environment.tmp / "gunicorn.log")
        started = time.monotonic()
        medians = measure(args, port, seeded)
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        print(environment.destroy())
    print(f"after:  {_load()} ({time.monotonic() - started:.0f} s measuring)")
    bearer, dpop = medians["OAuth bearer"], medians["OAuth DPoP"]
    print(f"OAuth bearer: {bearer:8.0f} req/s (median)")
    print(f"OAuth DPoP:   {dpop:8.0f} req/s (median)")
    print(f"ratio DPoP/bearer: {dpop / bearer:.2f}")
    latency = {name: 1000 * args.concurrency / rate for name, rate in medians.items()}
    print(
        f"mean latency at {args.concurrency} connections (Little's law): "
        f"{latency['OAuth DPoP']:.2f} ms vs {latency['OAuth bearer']:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

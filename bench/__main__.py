"""`make bench`: every benchmark in one run. Figures come from here, never from timed tests.

Needs the real services: DATABASE_URL (PostgreSQL) and REDIS_URL, as in production.
"""

import importlib
import sys

BENCHMARKS = [
    "bench.peers",
    "bench.pipeline",
    "bench.oauth_dpop",
    "bench.oauth_token",
    "bench.audit_log",
    "bench.request_log",
]


def main(argv: list[str]) -> int:
    chosen = argv or BENCHMARKS
    failed = 0
    for name in chosen:
        module = name if name.startswith("bench.") else f"bench.{name}"
        print(f"\n=== {module} ===", flush=True)
        try:
            result = importlib.import_module(module).main()
        except SystemExit as stop:
            result = stop.code
        if result:
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A bounded concurrent HTTP client for the cross-process tests, usable as a separate process:

python -m tests.api.ratelimit.fire URL BEARER COUNT THREADS [METHOD]   → JSON list on stdout
"""

import http.client
import json
import sys
import threading
from urllib.parse import urlsplit

HEADERS = (
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Resource",
)


def fire(url: str, bearer: str, count: int, threads: int = 8, method: str = "GET") -> list[dict]:
    parts = urlsplit(url)
    results: list[dict] = []
    lock = threading.Lock()
    remaining = [count]

    def worker():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        body = b"{}" if method != "GET" else None
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            headers = {"Authorization": bearer, "Content-Type": "application/json"}
            connection.request(method, parts.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            outcome = {"status": response.status}
            outcome.update({name: response.getheader(name) for name in HEADERS})
            with lock:
                results.append(outcome)
        connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


if __name__ == "__main__":
    target, credential, number, concurrency = sys.argv[1:5]
    verb = sys.argv[5] if len(sys.argv) > 5 else "GET"
    json.dump(fire(target, credential, int(number), int(concurrency), verb), sys.stdout)

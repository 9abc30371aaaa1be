"""`make bench` never touches what it does not own (issue 12, item 4), and its peers stay out of
production. Throughput itself is measured by `make bench`, never here."""

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from bench.pipeline import Environment


def test_bench_peers_are_not_in_production_urls_or_apps():
    for path in ("/v2/bench-peers/token", "/v2/bench-peers/dot", "/v2/bench-peers/none"):
        with pytest.raises(Resolver404):
            resolve(path)
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS


def test_bench_environment_is_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sp_dev")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/4")
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    monkeypatch.delenv("BENCH_REDIS_DB", raising=False)
    environment = Environment(settings="bench.peers_settings")
    try:
        env = environment.env
        assert env["DATABASE_URL"].rsplit("/", 1)[1] == environment.db_name != "sp_dev"
        assert environment.db_name.startswith("sp_dev_bench_")
        assert env["REDIS_URL"] == "redis://127.0.0.1:6379/15"  # never REDIS_URL's own db 4
        assert env["CACHE_KEY_PREFIX"] == environment.prefix != "sp"
        assert env["STATUSPOOL_VAR_DIR"] == str(environment.tmp)
        assert env["DJANGO_SETTINGS_MODULE"] == "bench.peers_settings"
        # The seeding process and the server share the run's secrets.
        assert env["SECRET_KEY"] and env["DIGEST_PEPPERS"].startswith("p1:")
        assert "bench" in environment.describe() and "/15" in environment.describe()
    finally:
        environment.db_name = None  # nothing was created on that server
        environment.destroy()
    assert not environment.tmp.exists()


def test_bench_refuses_a_redis_database_in_use_and_leaves_it_alone(private_redis, monkeypatch):
    monkeypatch.setenv("BENCH_REDIS_URL", private_redis.url(2))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    client = private_redis.client(2)
    client.set("someone:else", "1")
    environment = Environment()
    with pytest.raises(SystemExit, match="holds 1 keys"):
        environment.claim_redis()
    assert "left as it was" in environment.destroy()
    assert client.get("someone:else") == b"1"


def test_bench_empties_the_redis_database_it_claimed(private_redis, monkeypatch):
    monkeypatch.setenv("BENCH_REDIS_URL", private_redis.url(2))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    other_db = private_redis.client(0)
    other_db.set("make:run:data", "kept")
    environment = Environment()
    environment.claim_redis()
    client = private_redis.client(2)
    client.set(f"{environment.prefix}:audit:requestlog", "x")
    client.set("celery", "y")
    assert "deleted 2 Redis keys (0 left)" in environment.destroy()
    assert client.dbsize() == 0
    assert other_db.get("make:run:data") == b"kept"


def test_every_peer_passes_the_middleware_chain_of_v2():
    """A peer outside /v2 would also pay for the dashboard's middleware and flatter the ratios."""
    from bench.peers import targets
    from statuspool.api.middleware import is_api_json

    named = targets({"api_key": "k", "oauth": "o", "drf": "d"})
    assert {path for path, _ in named.values() if not is_api_json(path)} == set()

"""The suite owns its data: its own Redis keys (a prefix per session) and its own var/.

Before, ``cache.clear()`` ran FLUSHDB on the database REDIS_URL names (twice per test), emptying a
``make run`` or another suite using the same database, and /v2 tests spooled request-log entries into
the checkout's var/, which the next ``make run`` imported into the demo account.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from usage import requestlog

CHECKOUT = Path(__file__).resolve().parents[1]
# Keys "another process" (a make run, another engineer's suite) keeps in the same database.
FOREIGN = (f"sp:1:suite-isolation-{secrets.token_hex(4)}", f"elsewhere-{secrets.token_hex(4)}")


def _write_elsewhere():
    code = (
        "import os, sys, redis\n"
        "client = redis.Redis.from_url(os.environ['REDIS_URL'])\n"
        "for name in sys.argv[1:]: client.set(name, 'kept')\n"
    )
    subprocess.run([sys.executable, "-c", code, *FOREIGN], check=True, timeout=30)


@pytest.fixture(scope="module")
def foreign_keys():
    if not os.environ.get("REDIS_URL"):
        yield None
        return
    _write_elsewhere()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    yield client
    client.delete(*FOREIGN)


@pytest.mark.redis
def test_cache_clear_deletes_only_the_sessions_own_keys(foreign_keys):
    cache.set("ours", "gone soon")
    assert foreign_keys.get(FOREIGN[0]) == b"kept"
    cache.clear()
    assert cache.get("ours") is None
    assert [foreign_keys.get(name) for name in FOREIGN] == [b"kept", b"kept"]


@pytest.mark.redis
def test_keys_of_another_process_survive_the_cleanup_between_tests(foreign_keys):
    # The previous test's teardown and this test's setup both cleaned the cache.
    assert [foreign_keys.get(name) for name in FOREIGN] == [b"kept", b"kept"]


@pytest.mark.redis
def test_every_key_the_application_writes_is_under_the_sessions_prefix():
    prefix = settings.TEST_KEY_PREFIX
    assert prefix.startswith("sptest-") and prefix != "sp"
    assert cache.make_key("anything").startswith(f"{prefix}:")
    assert requestlog.REDIS_LIST.startswith(f"{prefix}:")
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"].startswith(f"{prefix}:")


def test_the_suite_has_its_own_var_dir_outside_the_checkout():
    var = Path(settings.VAR_DIR).resolve()
    assert var.is_dir() and not var.is_relative_to(CHECKOUT)
    assert os.environ["STATUSPOOL_VAR_DIR"] == settings.VAR_DIR.as_posix()
    for path in (
        settings.CELERY_BEAT_SCHEDULE_FILENAME,
        settings.STATIC_ROOT,
        requestlog.spool_dir(),
    ):
        assert Path(path).resolve().is_relative_to(var)


def test_a_spooled_request_log_entry_lands_in_the_sessions_var_dir(settings):
    # As without Redis: the entry is spooled to disk.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not getattr(settings, "AUDIT_REQUEST_LOG_SPOOL_DIR", None)
    checkout_spool = CHECKOUT / "var" / "requestlog"
    before = (
        sorted(checkout_spool.glob("*")),
        {p: p.stat().st_size for p in checkout_spool.glob("*")},
    )
    spool = requestlog.buffer.spool_path()
    size = spool.stat().st_size if spool.exists() else 0
    try:
        requestlog.push({"t": "2026-01-01T00:00:00+00:00", "a": 0, "m": "GET", "p": "/v2/x"})
        assert spool.stat().st_size > size
        assert spool.resolve().is_relative_to(Path(settings.VAR_DIR).resolve())
        after = (
            sorted(checkout_spool.glob("*")),
            {p: p.stat().st_size for p in checkout_spool.glob("*")},
        )
        assert after == before
    finally:
        with spool.open("r+b") as handle:
            handle.truncate(size)

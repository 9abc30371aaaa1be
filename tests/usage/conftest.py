"""Fixtures of the usage tests: an isolated request-log buffer, keys, a /v2 client."""

import pytest

from apikeys.services import apikey_create
from audit.services import Actor
from usage import requestlog


@pytest.fixture(autouse=True)
def isolated_request_log_buffer(settings, tmp_path):
    """Each test gets its own spool folder and an empty Redis list."""
    settings.AUDIT_REQUEST_LOG_SPOOL_DIR = str(tmp_path / "requestlog")
    redis = requestlog._redis()
    if redis is not None:
        redis.delete(requestlog.REDIS_LIST)
    yield
    if redis is not None:
        redis.delete(requestlog.REDIS_LIST)


# The default cache without Redis (as in the embedded mode): the request log spools to disk.
WITHOUT_REDIS = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def dead_redis(location: str = "redis://127.0.0.1:1/0") -> dict:
    """The default cache on a Redis nobody answers (the request log's one client is the cache's)."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }


@pytest.fixture
def make_key(account_a):
    """make_key(account=A, *, name=..., scopes=[...], created_by=None) -> (key, plaintext)."""

    def make(account=None, *, name="incident-key", scopes=("monitors:read",), created_by=None):
        return apikey_create(
            account=account or account_a,
            name=name,
            scopes=list(scopes),
            actor=Actor.system(label="tests"),
            created_by=created_by,
        )

    return make


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_USER_AGENT": "incident-cli/1.0"}

"""Configuration fails loudly at start on bad values, and production refuses to run without secrets.

Each case starts a fresh interpreter, because settings are read once per process. The local .env is
never read (STATUSPOOL_ENV_FILE points nowhere) and the inherited environment is not passed on.
"""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _key(nbytes=32):
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode()


PRODUCTION = {
    "STATUSPOOL_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DIGEST_PEPPERS": f"p1:{_key()}",
    "ENCRYPTION_KEYS": f"k1:{_key()}",
    "AUDIT_KEYS": f"a1:{_key()}",
    "DATABASE_URL": "postgres://statuspool:pw@db.internal:5432/statuspool",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "statuspool.example",
}


STARTUP = "import django; django.setup(); print('started')"


def start(tmp_path, code=STARTUP, **env):
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "statuspool.settings",
        "STATUSPOOL_ENV_FILE": "/nonexistent",
        "STATUSPOOL_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused(result, message):
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert "started" not in result.stdout


def test_development_defaults_start(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false, not 'maybe'"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be a redis:// URL, not 'http://x'"),
        ({"ENCRYPTION_KEYS": "not-a-key"}, "ENCRYPTION_KEYS: each entry must be ID:BASE64"),
        ({"ENCRYPTION_KEYS": f"k1:{_key(16)}"}, "key 'k1' must be 32 bytes, not 16"),
        ({"ENCRYPTION_KEYS": f"k1:{_key()},k1:{_key()}"}, "key id 'k1' appears twice"),
        ({"DIGEST_PEPPERS": f"p1:{_key(8)}"}, "DIGEST_PEPPERS: key 'p1' must be at least 32 bytes"),
        ({"STATUSPOOL_ENV": "staging"}, "STATUSPOOL_ENV must be one of"),
        ({"API_AUTH_CACHE_SECONDS": "soon"}, "API_AUTH_CACHE_SECONDS must be an integer"),
        ({"RATE_TEAM_READ": "0"}, "RATE_TEAM_READ must be at least 1, not 0"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-a-cidr"}, "TRUSTED_PROXIES: 'not-a-cidr' is not"),
        ({"LOGIN_RATE_PER_EMAIL": "five"}, "LOGIN_RATE_PER_EMAIL must look like 5/15m"),
    ],
)
def test_bad_values_fail_loudly(tmp_path, env, message):
    assert_refused(start(tmp_path, **env), message)


def test_production_without_secrets_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k not in {"SECRET_KEY", "DIGEST_PEPPERS"}}
    assert_refused(start(tmp_path, **env), "SECRET_KEY must be set when STATUSPOOL_ENV=production")


def test_production_without_encryption_keys_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "ENCRYPTION_KEYS"}
    assert_refused(start(tmp_path, **env), "ENCRYPTION_KEYS must be set")


def test_production_with_a_weak_secret_key_is_refused(tmp_path):
    result = start(tmp_path, **{**PRODUCTION, "SECRET_KEY": "django-insecure-" + "x" * 50})
    assert_refused(result, "SECRET_KEY must be a random value of at least 50 characters")


def test_production_with_debug_is_refused(tmp_path):
    result = start(tmp_path, **{**PRODUCTION, "DEBUG": "true"})
    assert_refused(result, "DEBUG must be off when STATUSPOOL_ENV=production")


def test_production_on_sqlite_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    assert_refused(start(tmp_path, **env), "Production needs DATABASE_URL pointing at PostgreSQL")


def test_production_without_redis_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    assert_refused(start(tmp_path, **env), "Production needs REDIS_URL")


def test_production_without_allowed_hosts_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "ALLOWED_HOSTS"}
    assert_refused(start(tmp_path, **env), "ALLOWED_HOSTS must be set")


def test_production_with_everything_set_starts_hardened(tmp_path):
    check = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.CELERY_BROKER_URL)"
    )
    result = start(tmp_path, code=check, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "31536000",
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache.internal:6379/0",
    ]


def test_a_malformed_env_file_is_refused(tmp_path):
    env_file = tmp_path / "broken.env"
    env_file.write_text("SECRET_KEY\n")
    result = start(tmp_path, STATUSPOOL_ENV_FILE=str(env_file))
    assert_refused(result, "broken.env:1: expected KEY=VALUE")

"""Revocation in another process (``manage.py revokeapikey``) is seen by this one on the very next
request, through the shared cache: Redis in production, the file cache in the embedded default.

The other process must see the same database, so these tests need PostgreSQL (the SQLite test
database lives in this process's memory).
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from apikeys import authcache
from apikeys.models import Status
from audit.models import AuditEvent
from tests.api.fixtures import issue_key

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _revoke_elsewhere(public_id: str, **env_changes) -> None:
    env = {**os.environ, "DATABASE_URL": _database_url(), **env_changes}
    env = {name: value for name, value in env.items() if value is not None}
    result = subprocess.run(
        [sys.executable, "manage.py", "revokeapikey", public_id, "--reason", "compromised"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Revoked" in result.stdout


def _warm_then_revoke_elsewhere(api, account, **env_changes):
    key, raw = issue_key(account, ["monitors:read"])
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200
    assert authcache.peek(key.public_id) is not None  # served from cache next
    _revoke_elsewhere(key.public_id, **env_changes)
    response = api("GET", "/v2/monitors", f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    key.refresh_from_db()
    assert key.status == Status.REVOKED and key.revoked_reason == "compromised"
    event = AuditEvent.objects.get(action="apikey.revoked", target_id=str(key.pk))
    assert event.actor_kind == "system"


@pytest.mark.redis
def test_revocation_in_another_process_through_redis(api, account_a, settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    _warm_then_revoke_elsewhere(api, account_a)


def test_revocation_in_another_process_through_the_file_cache(api, account_a, settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),  # what STATUSPOOL_VAR_DIR=tmp_path gives
        }
    }
    _warm_then_revoke_elsewhere(api, account_a, REDIS_URL=None, STATUSPOOL_VAR_DIR=str(tmp_path))

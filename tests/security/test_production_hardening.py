"""Issue 10 item 8: production hardening.

__Host- cookie names, HSTS preload as a setting with `check --deploy` clean, a SECRET_KEY entropy
check, an idle timeout besides the absolute session age, and seed_demo refusing production.
Settings are read once per process, so production cases start a fresh interpreter.
"""

import json
import subprocess
import sys

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import login
from tests.test_settings import PRODUCTION, ROOT, assert_refused, start

SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_PRELOAD, s.SESSION_IDLE_TIMEOUT]))"
)


def test_production_cookies_have_the_host_prefix(tmp_path):
    result = start(tmp_path, SHOW, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    session, csrf, session_secure, csrf_secure, preload, idle = json.loads(result.stdout)
    assert (session, csrf) == ("__Host-sessionid", "__Host-csrftoken")
    assert session_secure and csrf_secure  # the prefix is only accepted with Secure
    assert preload is False  # opt-in
    assert idle == 7200


def test_development_keeps_plain_cookie_names(settings):
    assert settings.SESSION_COOKIE_NAME == "sessionid"


@pytest.mark.parametrize("preload", ["true", "false"])
def test_check_deploy_is_clean_with_and_without_preload(tmp_path, preload):
    env = {
        **PRODUCTION,
        "SECURE_HSTS_PRELOAD": preload,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STATUSPOOL_ENV_FILE": "/nonexistent",
        "STATUSPOOL_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if preload == "true":
        assert "W021" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "secret_key",
    ["x" * 60, "ab" * 40, "abcdefghij" * 6, "password" * 8, "django-insecure-" + "k" * 50],
)
def test_low_entropy_secret_key_is_refused_in_production(tmp_path, secret_key):
    result = start(tmp_path, **{**PRODUCTION, "SECRET_KEY": secret_key})
    assert_refused(result, "SECRET_KEY must be a random value")


def test_generated_secret_keys_pass(tmp_path):
    from django.core.management.utils import get_random_secret_key

    result = start(tmp_path, **{**PRODUCTION, "SECRET_KEY": get_random_secret_key()})
    assert result.returncode == 0, result.stderr


def test_seed_demo_refuses_production(tmp_path):
    env = {
        **PRODUCTION,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STATUSPOOL_ENV_FILE": "/nonexistent",
        "STATUSPOOL_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "seed_demo refuses to run with STATUSPOOL_ENV=production" in result.stderr
    # It stopped before touching the (unreachable) database.
    assert "OperationalError" not in result.stderr


@pytest.mark.django_db
def test_idle_session_ends_after_two_hours(client, alice, settings):
    assert settings.SESSION_IDLE_TIMEOUT == 2 * 3600
    page = reverse("monitoring:monitor_list")
    with time_machine.travel("2026-12-01 08:00:00Z", tick=False) as clock:
        login(client, alice)
        assert client.get(page).status_code == 200
        clock.shift(2 * 3600 - 60)  # active just inside the window: the clock restarts
        assert client.get(page).status_code == 200
        clock.shift(2 * 3600 - 60)
        assert client.get(page).status_code == 200
        clock.shift(2 * 3600 + 1)  # idle for longer than the timeout
        response = client.get(page)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
        assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_idle_timeout_is_a_setting(client, alice, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    page = reverse("monitoring:monitor_list")
    with time_machine.travel("2026-12-01 08:00:00Z", tick=False) as clock:
        login(client, alice)
        assert client.get(page).status_code == 200
        clock.shift(601)
        assert client.get(page).status_code == 302

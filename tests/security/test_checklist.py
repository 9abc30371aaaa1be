"""Issue 10 item 9: the checklist that already held, pinned so a change that reopens any of it
fails CI. Digests only at rest, constant-time comparisons, no secret in logs, another account's
object is a 404 (BOLA), no mass assignment, CSRF on forms, no framing, session rotation at login,
and bandit clean over the code."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from apikeys.services import apikey_create
from audit.services import Actor
from statuspool.accounts import recovery
from statuspool.monitoring.models import Monitor
from tests.conftest import PASSWORD, login
from tests.monitoring.conftest import make_monitor
from tests.oauthapps.helpers import issue_tokens, register_app

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _dump() -> str:
    with connection.cursor() as cursor:
        text = []
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            text.append(repr(cursor.fetchall()))
    return "\n".join(text)


def _key(account, scopes=("monitors:read", "monitors:write")):
    return apikey_create(
        account=account, name="checklist", scopes=list(scopes), actor=Actor.system("tests")
    )


def test_digests_only_at_rest(account_a, alice):
    _, raw_key = _key(account_a)
    app, client_secret = register_app(account_a, user=alice)
    access, refresh = issue_tokens(app, alice, account_a, ["monitors:read"])
    codes = recovery.replace_all(alice)
    dump = _dump()
    for secret in (raw_key, client_secret, access, refresh, *codes):
        assert secret not in dump


def test_digest_comparisons_are_constant_time(monkeypatch, account_a):
    import hmac

    from statuspool import crypto

    calls = []
    original = hmac.compare_digest
    monkeypatch.setattr(
        crypto.hmac, "compare_digest", lambda a, b: calls.append(1) or original(a, b)
    )
    _, raw = _key(account_a)
    Client().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {raw[:-8]}{'A' * 8}")
    Client().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert calls  # the stored digest was compared with hmac.compare_digest


def test_no_secret_in_logs_even_at_debug(account_a, caplog):
    _, raw = _key(account_a)
    with caplog.at_level(logging.DEBUG):
        Client().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {raw}")
        Client().get(f"/v2/monitors?api_key={raw}")
        Client().get("/v2/monitors", HTTP_AUTHORIZATION=f"Bearer {raw[:-1]}x")
    assert raw not in caplog.text and raw[:-1] not in caplog.text


def test_another_accounts_objects_are_404(client, alice, account_a, charlie, account_b):
    key, raw = _key(account_a)
    monitor_b = make_monitor(account_b, "Bravo API")
    response = client.get(f"/v2/monitors/{monitor_b.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    login(client, charlie)
    assert client.get(reverse("apikeys:detail", args=[key.public_id])).status_code == 404


def test_no_mass_assignment(client, account_a, account_b):
    _, raw = _key(account_a)
    monitor = make_monitor(account_a, "Acme API")
    response = client.patch(
        f"/v2/monitors/{monitor.pk}",
        data=json.dumps({"name": "renamed", "account": account_b.pk, "id": 999, "status": "up"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200
    monitor.refresh_from_db()
    assert monitor.account_id == account_a.pk and monitor.name == "renamed"
    assert not Monitor.objects.filter(pk=999).exists()


def test_dashboard_forms_need_a_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    login(client, alice)
    response = client.post(reverse("apikeys:create"), {"name": "x", "scopes": ["monitors:read"]})
    assert response.status_code == 403
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("accounts:login"), {"email": "a@b.c"}).status_code == 403


def test_pages_cannot_be_framed(client):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_session_key_rotates_at_login(client, account_a):
    from statuspool.accounts.models import Membership, Role
    from tests.conftest import make_user

    nina = make_user("nina@acme.test", with_2fa=False)
    Membership.objects.create(user=nina, account=account_a, role=Role.MEMBER)
    client.get(reverse("accounts:login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("accounts:login"), {"email": nina.email, "password": PASSWORD})
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(nina.pk)


def test_bandit_is_clean_and_part_of_lint():
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "bandit" in lint
    assert "bandit" in (ROOT / ".ci" / "run").read_text()
    result = subprocess.run(
        [Path(sys.executable).parent / "bandit", "-q", "-r", "statuspool", "apikeys", "oauthapps"]
        + ["audit", "bench", "usage", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["results"] == [], report["results"]
    assert result.returncode == 0

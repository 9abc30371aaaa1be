"""POST /v2/leaks: GitHub's secret-scanning partner protocol, signed with a test P-256 key."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from apikeys.models import Status
from apikeys.services import apikey_create
from audit.chain import verify_all
from audit.models import AuditEvent
from audit.services import Actor
from oauthapps.models import Authorization
from statuspool.env import parse_ec_public_keys
from statuspool.notifications.models import OutboxEmail
from tests.oauthapps.helpers import issue_tokens, register_app

pytestmark = pytest.mark.django_db

KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"
URL = "https://github.com/octo/demo/blob/abc123/config.yml"


@pytest.fixture
def signing_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    settings.LEAK_REPORT_PUBLIC_KEYS = {KEY_ID: der}
    return private


def sign(private, body: bytes) -> str:
    return base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def report(client, private, entries, *, key_id=KEY_ID, signature=None, ip="140.82.115.1"):
    body = json.dumps(entries).encode()
    return client.post(
        "/v2/leaks",
        body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=key_id,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature
        if signature is not None
        else sign(private, body),
        REMOTE_ADDR=ip,
    )


def entry(token, type_="statuspool_api_key"):
    return {"token": token, "type": type_, "url": URL, "source": "content"}


@pytest.fixture
def leaked(account_a, alice, bob):
    return apikey_create(
        account=account_a,
        name="ci",
        scopes=["monitors:read"],
        actor=Actor.system("t"),
        created_by=bob,
    )


def test_a_signed_report_revokes_the_key_audits_the_url_and_emails_the_admins(
    client, signing_key, leaked, alice, bob
):
    key, raw = leaked
    response = report(client, signing_key, [entry(raw)])
    assert response.status_code == 200
    assert response.json() == [
        {
            "token_hash": hashlib.sha256(raw.encode()).hexdigest(),
            "token_type": "statuspool_api_key",
            "label": "true_positive",
        }
    ]
    assert raw not in response.content.decode()
    key.refresh_from_db()
    assert key.status == Status.REVOKED and key.revoked_reason == f"Leaked: found at {URL}"
    event = AuditEvent.objects.get(action="apikey.leaked_revoked")
    assert event.details["url"] == URL and event.details["reporter"] == "GitHub secret scanning"
    assert event.ip == "140.82.115.1" and raw not in json.dumps(event.details)
    notices = OutboxEmail.objects.filter(template="security_notice", subject__contains="leaked")
    assert sorted(email.to[0] for email in notices) == ["alice@acme.test", "bob@acme.test"]
    assert URL in notices[0].context["summary"]
    assert verify_all() == []
    # The revoked key is refused by /v2 on the next request.
    refused = client.get("/v2/credential", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert refused.status_code == 401


def test_leak_notice_cannot_be_silenced_for_the_owner(client, signing_key, leaked, alice):
    from statuspool.notifications.models import SecurityNotificationOptOut

    SecurityNotificationOptOut.objects.create(user=alice, kind="apikey.leaked_revoked")
    _, raw = leaked
    report(client, signing_key, [entry(raw)])
    assert OutboxEmail.objects.filter(
        template="security_notice", to=["alice@acme.test"], subject__contains="leaked"
    ).exists()


def test_unknown_malformed_and_foreign_tokens_are_false_positives(
    client, signing_key, leaked, django_assert_num_queries
):
    key, raw = leaked
    forged = raw[:-6] + ("AAAAAA" if raw[-6:] != "AAAAAA" else "BBBBBB")  # bad checksum
    tokens = [forged, "sp_live_short", "ghp_notours", "sp_oat_" + "x" * 40, "sp_ort_" + "y" * 40]
    # One query per token whatever it is (plus nothing else): no shortcut tells them apart.
    with django_assert_num_queries(len(tokens)):
        response = report(client, signing_key, [entry(token) for token in tokens])
    assert response.status_code == 200
    assert [item["label"] for item in response.json()] == ["false_positive"] * len(tokens)
    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert not AuditEvent.objects.filter(action__endswith="leaked_revoked").exists()


def test_a_leaked_oauth_refresh_token_ends_its_grant(client, signing_key, account_a, alice, bob):
    app, _ = register_app(account_a, user=alice)
    access, refresh = issue_tokens(app, bob, account_a, ["monitors:read"])
    response = report(client, signing_key, [entry(refresh, "statuspool_oauth_refresh_token")])
    assert response.json()[0]["label"] == "true_positive"
    assert Authorization.objects.get(user=bob).revoked_at is not None
    event = AuditEvent.objects.get(action="oauth.leaked_revoked")
    assert event.details["token_kind"] == "refresh token" and event.details["url"] == URL
    assert client.get("/v2/credential", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401


def test_reporting_twice_changes_nothing_the_second_time(client, signing_key, leaked):
    _, raw = leaked
    report(client, signing_key, [entry(raw)])
    second = report(client, signing_key, [entry(raw)])
    assert second.json()[0]["label"] == "true_positive"
    assert AuditEvent.objects.filter(action="apikey.leaked_revoked").count() == 1


@pytest.mark.parametrize(
    "how", ["wrong key id", "tampered body", "garbage signature", "no signature", "other key"]
)
def test_a_bad_signature_is_401_and_revokes_nothing(client, signing_key, leaked, how):
    key, raw = leaked
    body = json.dumps([entry(raw)]).encode()
    headers = {"key_id": KEY_ID, "signature": sign(signing_key, body)}
    if how == "wrong key id":
        headers["key_id"] = "unknown"
    elif how == "tampered body":
        headers["signature"] = sign(signing_key, body + b" ")
    elif how == "garbage signature":
        headers["signature"] = "not base64!"
    elif how == "no signature":
        headers["signature"] = ""
    else:
        headers["signature"] = sign(ec.generate_private_key(ec.SECP256R1()), body)
    response = report(client, signing_key, [entry(raw)], **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    key.refresh_from_db()
    assert key.status == Status.ACTIVE


def test_no_configured_key_refuses_everything(client, settings, leaked):
    settings.LEAK_REPORT_PUBLIC_KEYS = {}
    private = ec.generate_private_key(ec.SECP256R1())
    assert report(client, private, [entry(leaked[1])]).status_code == 401


def test_malformed_reports_are_400(client, signing_key):
    for entries in ({"token": "x"}, [1, 2], [{"type": "no token"}], [{"token": 5}]):
        response = report(client, signing_key, entries)
        assert response.status_code == 400, entries
        assert response.json()["error"]["code"] == "invalid_request"


def test_reports_are_rate_limited_per_address(client, signing_key, settings):
    settings.LEAK_REPORT_RATE = "2/m"
    statuses = [report(client, signing_key, [], ip="140.82.115.9").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert report(client, signing_key, [], ip="140.82.115.10").status_code == 200


def test_too_many_tokens_is_refused(client, signing_key, settings):
    settings.LEAK_REPORT_MAX_TOKENS = 2
    response = report(client, signing_key, [entry("a"), entry("b"), entry("c")])
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_tokens"


def test_public_key_setting_is_parsed_strictly():
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    parsed = parse_ec_public_keys(
        "X", f"a1:{base64.b64encode(der).decode()},b2:{base64.b64encode(pem).decode()}"
    )
    assert parsed == {"a1": der, "b2": der}
    assert parse_ec_public_keys("X", "") == {}
    with pytest.raises(ImproperlyConfigured, match="not a base64 public key"):
        parse_ec_public_keys("X", "a1:bm90IGEga2V5")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    other = base64.b64encode(p384.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(ImproperlyConfigured, match="P-256"):
        parse_ec_public_keys("X", f"a1:{other.decode()}")


def test_report_leaked_key_command(leaked, tmp_path, capsys):
    key, raw = leaked
    dump = tmp_path / "paste.txt"
    dump.write_text(f"config:\n  token: {raw}\n  other: sp_live_{'z' * 40}\n")
    call_command("report_leaked_key", str(dump), "--dry-run", "--url", "https://pastebin.example/x")
    out = capsys.readouterr().out
    assert "would be revoked" in out and raw not in out
    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    call_command("report_leaked_key", str(dump), "--url", "https://pastebin.example/x")
    out = capsys.readouterr().out
    assert f"{key.display_id}: revoked" in out and "1 of 2 credential(s) are ours." in out
    key.refresh_from_db()
    assert key.status == Status.REVOKED
    event = AuditEvent.objects.get(action="apikey.leaked_revoked")
    assert event.details["url"] == "https://pastebin.example/x"
    assert event.actor_label == "manage.py report_leaked_key"


def test_a_report_during_a_redis_outage_still_revokes(client, signing_key, leaked, caplog):
    """Redis down: the rate limit fails open (the signature still guards the endpoint), the key is
    revoked in the database, and authentication, reading the database, refuses it."""
    from django.test import override_settings

    from tests.api.ratelimit.test_redis_down import DEAD_REDIS

    key, raw = leaked
    with override_settings(CACHES=DEAD_REDIS):
        response = report(client, signing_key, [entry(raw)])
        assert response.status_code == 200
        assert response.json()[0]["label"] == "true_positive"
        assert client.get("/v2/credential", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    key.refresh_from_db()
    assert key.status == Status.REVOKED
    assert "rate-limit counter unavailable" in caplog.text

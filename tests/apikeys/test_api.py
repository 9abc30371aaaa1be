"""teams:admin endpoints of API keys: metadata and revocation through /v2."""

import pytest

from apikeys.models import ApiKey, Status
from audit.models import AuditEvent
from tests.api.fixtures import error_code, issue_key


@pytest.fixture
def admin_key(seeded_a):
    return issue_key(seeded_a.account, ["teams:admin"], name="ops-admin")


@pytest.fixture
def bearer(admin_key):
    return f"Bearer {admin_key[1]}"


def test_key_metadata_never_carries_secret_material(api, bearer, admin_key, seeded_a, alice):
    key, raw = admin_key
    ApiKey.objects.filter(pk=key.pk).update(created_by=alice)
    listed = api("GET", "/v2/api-keys", bearer)
    one = api("GET", f"/v2/api-keys/{key.public_id}", bearer)
    for response in (listed, one):
        text = response.content.decode()
        key.refresh_from_db()
        assert key.digest not in text and raw not in text and raw[len("sp_live_") :] not in text
        assert "digest" not in text and "pepper" not in text
    detail = one.json()
    assert detail["public_id"] == key.public_id
    assert detail["display_id"] == f"sp_live_{key.public_id}…"
    assert (detail["name"], detail["scopes"], detail["status"]) == (
        "ops-admin",
        ["teams:admin"],
        "active",
    )
    assert detail["created_by"] == "alice@acme.test"
    assert {k["public_id"] for k in listed.json()["results"]} == {
        key.public_id,
        seeded_a.key.public_id,
    }


def test_revoke_through_the_api(api, bearer, admin_key, seeded_a):
    target = seeded_a.key
    response = api(
        "POST",
        f"/v2/api-keys/{target.public_id}/revoke",
        bearer,
        json={"reason": "compromised"},
        HTTP_USER_AGENT="ops-script/1.0",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    target.refresh_from_db()
    assert target.status == Status.REVOKED and target.revoked_reason == "compromised"
    assert target.revoked_at is not None and target.revoked_by is None
    event = AuditEvent.objects.get(action="apikey.revoked", target_id=str(target.pk))
    assert event.account_id == seeded_a.account.pk
    assert event.actor_kind == "api_key"
    assert event.actor_label == admin_key[0].display_id
    assert event.ip == "127.0.0.1" and event.user_agent == "ops-script/1.0"
    assert event.details["reason"] == "compromised"


def test_a_key_can_revoke_itself_and_stops_working_at_once(
    api, seeded_a, django_capture_on_commit_callbacks
):
    key, raw = issue_key(seeded_a.account, ["teams:admin", "monitors:read"])
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 200  # cached
    with django_capture_on_commit_callbacks(execute=True):  # as the real commit would
        response = api("POST", f"/v2/api-keys/{key.public_id}/revoke", f"Bearer {raw}", json={})
    assert response.status_code == 200
    assert api("GET", "/v2/monitors", f"Bearer {raw}").status_code == 401


def test_revoking_twice_is_a_conflict(api, bearer, seeded_a):
    url = f"/v2/api-keys/{seeded_a.key.public_id}/revoke"
    assert api("POST", url, bearer, json={"reason": "first"}).status_code == 200
    response = api("POST", url, bearer, json={"reason": "second"})
    assert response.status_code == 409
    assert error_code(response) == "already_revoked"
    seeded_a.key.refresh_from_db()
    assert seeded_a.key.revoked_reason == "first"
    assert AuditEvent.objects.filter(action="apikey.revoked").count() == 1


def test_revoke_reason_is_limited(api, bearer, seeded_a):
    url = f"/v2/api-keys/{seeded_a.key.public_id}/revoke"
    response = api("POST", url, bearer, json={"reason": "x" * 201})
    assert response.status_code == 400
    seeded_a.key.refresh_from_db()
    assert seeded_a.key.status == Status.ACTIVE

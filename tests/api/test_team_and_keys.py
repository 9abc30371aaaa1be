"""teams:admin endpoints: team members, billing, API key metadata and revocation through /v2."""

import json

import pytest

from apikeys.models import ApiKey, Status
from audit.models import AuditEvent
from statuspool.accounts.models import Membership, Role
from tests.api.conftest import error_code, issue_key
from tests.conftest import make_user


@pytest.fixture
def admin_key(seeded_a):
    return issue_key(seeded_a.account, ["teams:admin"], name="ops-admin")


@pytest.fixture
def bearer(admin_key):
    return f"Bearer {admin_key[1]}"


def test_members_with_roles(api, bearer, seeded_a, bob):
    carol = make_user("carol@acme.test", with_2fa=False, full_name="Carol")
    Membership.objects.create(user=carol, account=seeded_a.account, role=Role.MEMBER)
    results = api("GET", "/v2/team/members", bearer).json()["results"]
    assert [(m["email"], m["name"], m["role"], m["has_2fa"]) for m in results] == [
        ("alice@acme.test", "Alice Owner", "owner", True),
        ("bob@acme.test", "Bob Admin", "admin", True),
        ("carol@acme.test", "Carol", "member", False),
    ]
    one = api("GET", f"/v2/team/members/{results[2]['id']}", bearer).json()
    assert one["email"] == "carol@acme.test"
    assert "password" not in json.dumps(results)


def test_roles_are_read_only_through_the_api(api, bearer, seeded_a):
    url = f"/v2/team/members/{seeded_a.membership.pk}"
    response = api("PATCH", url, bearer, json={"role": "member"})
    assert response.status_code == 405
    seeded_a.membership.refresh_from_db()
    assert seeded_a.membership.role == Role.OWNER


def test_billing(api, bearer, seeded_a):
    body = api("GET", "/v2/billing", bearer).json()
    assert body == {
        "account_id": seeded_a.account.pk,
        "account_name": "Acme Monitoring",
        "plan": "team",
        "billing_email": "billing@acme.test",
        "api_keys": {"limit": 4, "in_use": 2},  # the seeded "CI pipeline" key and ours
        "rate_limits": {
            "read": {"limit": 600, "window_seconds": 60},
            "write": {"limit": 120, "window_seconds": 60},
        },
        "ip_allowlisting": False,
    }


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

"""teams:admin endpoints of the account: team members and billing through /v2."""

import json

import pytest

from statuspool.accounts.models import Membership, Role
from tests.api.fixtures import issue_key
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
    dora = seeded_a.other_member.user.email  # the seed's plain member
    assert [(m["email"], m["name"], m["role"], m["has_2fa"]) for m in results] == [
        ("alice@acme.test", "Alice Owner", "owner", True),
        (dora, "", "member", False),
        ("bob@acme.test", "Bob Admin", "admin", True),
        ("carol@acme.test", "Carol", "member", False),
    ]
    one = api("GET", f"/v2/team/members/{results[3]['id']}", bearer).json()
    assert one["email"] == "carol@acme.test"
    assert "password" not in json.dumps(results)


def test_the_owners_role_cannot_be_changed_through_the_api(api, bearer, seeded_a):
    url = f"/v2/team/members/{seeded_a.membership.pk}"
    response = api("PATCH", url, bearer, json={"role": "member"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
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
        "members": 2,
        "rate_limits": {
            "read": {"limit": 600, "window_seconds": 60},
            "write": {"limit": 120, "window_seconds": 60},
        },
        "ip_allowlisting": False,
    }

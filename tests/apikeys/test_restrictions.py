"""IP restrictions (Enterprise) and the Usage Alerts toggle: services, validation, pages."""

import pytest
from django.core.exceptions import ValidationError

from apikeys.models import ApiKey, Status
from apikeys.restriction_services import (
    MAX_NETWORKS,
    TEAM_PLAN_MESSAGE,
    apikey_set_allowed_networks,
    apikey_set_usage_alerts,
    normalise_network,
)
from audit.services import Actor
from statuspool.accounts.models import TOTPDevice
from tests.apikeys.helpers import events as newest_first
from tests.apikeys.helpers import sudo_data
from tests.conftest import login


def events(action, **filters):
    """Oldest first."""
    return sorted(newest_first(action, **filters), key=lambda event: event.pk)


@pytest.fixture
def enterprise(account_a):
    account_a.plan = "enterprise"
    account_a.save(update_fields=["plan"])
    return account_a


@pytest.fixture
def key(make_key, alice):
    return make_key(name="prod-monitoring-cli", created_by=alice)[0]


def allowlist_url(key):
    return f"/settings/api-access/{key.public_id}/allowlist/"


def alerts_url(key):
    return f"/settings/api-access/{key.public_id}/usage-alerts/"


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 198.51.100.7/32 ", "198.51.100.7/32"),
        ("198.51.100.7", "198.51.100.7/32"),
        ("2001:DB8:ABCD::/48", "2001:db8:abcd::/48"),
        ("::ffff:203.0.113.0/120", "203.0.113.0/24"),  # IPv4-mapped blocks are stored as IPv4
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_valid_blocks_are_stored_in_canonical_form(raw, stored):
    assert normalise_network(raw) == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("203.0.113.7/24", "“203.0.113.7/24” has host bits set: did you mean 203.0.113.0/24?"),
        ("2001:db8::1/48", "“2001:db8::1/48” has host bits set: did you mean 2001:db8::/48?"),
        ("203.0.113.0/33", "“203.0.113.0/33” is not a CIDR block."),
        ("office network", "“office network” is not a CIDR block."),
        ("", "Enter a CIDR block such as 203.0.113.0/24."),
    ],
)
def test_invalid_blocks_are_refused_with_a_helpful_message(raw, message):
    with pytest.raises(ValidationError) as refused:
        normalise_network(raw)
    assert refused.value.messages[0].startswith(message)


def test_service_stores_audits_and_reports_changes(
    enterprise, key, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        apikey_set_allowed_networks(
            key=key, networks=["203.0.113.0/24", "2001:db8::/32"], actor=Actor.system("t")
        )
    assert len(callbacks) == 1  # the authentication cache is invalidated after the commit
    key.refresh_from_db()
    assert key.allowed_networks == ["203.0.113.0/24", "2001:db8::/32"]
    apikey_set_allowed_networks(key=key, networks=["2001:db8::/32"], actor=Actor.system("t"))
    changes = events("apikey.allowlist_changed", target_id=str(key.pk))
    assert [e.details["added"] for e in changes] == [["203.0.113.0/24", "2001:db8::/32"], []]
    assert [e.details["removed"] for e in changes] == [[], ["203.0.113.0/24"]]
    assert changes[-1].details["allowed_networks"] == ["2001:db8::/32"]
    assert changes[-1].account_id == enterprise.pk
    # Saving the same list again is not a change.
    apikey_set_allowed_networks(key=key, networks=["2001:db8::/32"], actor=Actor.system("t"))
    assert len(events("apikey.allowlist_changed")) == 2


def test_duplicates_are_refused_even_when_written_differently(enterprise, key):
    with pytest.raises(ValidationError) as refused:
        apikey_set_allowed_networks(
            key=key, networks=["2001:db8::/32", "2001:DB8:0::/32"], actor=Actor.system("t")
        )
    assert "2001:db8::/32 is in the list twice." in refused.value.messages
    key.refresh_from_db()
    assert key.allowed_networks == []


def test_at_most_fifty_blocks(enterprise, key):
    blocks = [f"10.{i}.0.0/16" for i in range(MAX_NETWORKS)]
    apikey_set_allowed_networks(key=key, networks=blocks, actor=Actor.system("t"))
    with pytest.raises(ValidationError) as refused:
        apikey_set_allowed_networks(
            key=key, networks=[*blocks, "10.200.0.0/16"], actor=Actor.system("t")
        )
    assert "at most 50" in refused.value.messages[0]
    key.refresh_from_db()
    assert len(key.allowed_networks) == MAX_NETWORKS


def test_team_accounts_are_refused_but_may_clear_a_list(account_a, key):
    with pytest.raises(ValidationError) as refused:
        apikey_set_allowed_networks(key=key, networks=["203.0.113.0/24"], actor=Actor.system("t"))
    assert refused.value.messages == [TEAM_PLAN_MESSAGE]
    key.refresh_from_db()
    assert key.allowed_networks == []
    assert events("apikey.allowlist_changed") == []
    # Blocks kept from an Enterprise past can be removed (never added).
    ApiKey.objects.filter(pk=key.pk).update(allowed_networks=["203.0.113.0/24"])
    apikey_set_allowed_networks(key=key, networks=[], actor=Actor.system("t"))
    key.refresh_from_db()
    assert key.allowed_networks == []


def test_revoked_keys_do_not_change(enterprise, key):
    ApiKey.objects.filter(pk=key.pk).update(status=Status.REVOKED)
    with pytest.raises(ValidationError):
        apikey_set_allowed_networks(key=key, networks=["203.0.113.0/24"], actor=Actor.system("t"))
    with pytest.raises(ValidationError):
        apikey_set_usage_alerts(key=key, enabled=True, actor=Actor.system("t"))


def test_usage_alerts_service_toggles_and_audits(key):
    apikey_set_usage_alerts(key=key, enabled=True, actor=Actor.system("t"))
    key.refresh_from_db()
    assert key.usage_alerts_enabled is True
    apikey_set_usage_alerts(key=key, enabled=True, actor=Actor.system("t"))  # no change
    apikey_set_usage_alerts(key=key, enabled=False, actor=Actor.system("t"))
    key.refresh_from_db()
    assert key.usage_alerts_enabled is False
    changes = events("apikey.usage_alerts_changed", target_id=str(key.pk))
    assert [e.details for e in changes] == [
        {"usage_alerts_enabled": True},
        {"usage_alerts_enabled": False},
    ]


# --- pages -----------------------------------------------------------------------------------------


def test_detail_page_shows_the_panel_for_enterprise(client, alice, enterprise, key):
    ApiKey.objects.filter(pk=key.pk).update(allowed_networks=["203.0.113.0/24"])
    page = login(client, alice).get(f"/settings/api-access/{key.public_id}/")
    html = page.content.decode()
    assert "IP restrictions" in html and "203.0.113.0/24" in html
    assert allowlist_url(key) in html
    assert "Turn on usage alerts" in html


def test_detail_page_explains_the_team_plan(client, alice, account_a, key):
    html = login(client, alice).get(f"/settings/api-access/{key.public_id}/").content.decode()
    assert "Available on the Enterprise plan" in html
    assert allowlist_url(key) not in html


def test_admin_adds_and_removes_blocks_with_sudo(client, alice, enterprise, key):
    login(client, alice)
    page = client.get(allowlist_url(key))
    assert page.status_code == 200 and "Save IP restrictions" in page.content.decode()
    # From inside the new block: saving a list that locks the admin out asks first (separate test).
    response = client.post(
        allowlist_url(key),
        sudo_data(alice, add="203.0.113.0/24\n2001:db8::/32"),
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.allowed_networks == ["203.0.113.0/24", "2001:db8::/32"]
    client.post(
        allowlist_url(key), sudo_data(alice, remove=["203.0.113.0/24"]), REMOTE_ADDR="2001:db8::7"
    )
    key.refresh_from_db()
    assert key.allowed_networks == ["2001:db8::/32"]
    event = events("apikey.allowlist_changed")[-1]
    assert event.actor_email == alice.email and event.details["removed"] == ["203.0.113.0/24"]


def test_wrong_password_changes_nothing(client, alice, enterprise, key):
    login(client, alice)
    data = sudo_data(alice, add="203.0.113.0/24")
    data["password"] = "not the password"
    response = client.post(allowlist_url(key), data, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    assert "That password is not correct." in response.content.decode()
    key.refresh_from_db()
    assert key.allowed_networks == []
    assert events("apikey.allowlist_changed") == []
    assert len(events("auth.sudo_failed")) == 1


def test_invalid_block_is_explained_and_does_not_spend_the_code(client, alice, enterprise, key):
    login(client, alice)
    response = client.post(allowlist_url(key), sudo_data(alice, add="203.0.113.7/24"))
    assert response.status_code == 200
    assert "did you mean 203.0.113.0/24?" in response.content.decode()
    assert TOTPDevice.objects.get(user=alice).last_used_step == 0
    key.refresh_from_db()
    assert key.allowed_networks == []


def test_team_account_cannot_add_from_the_page(client, alice, account_a, key):
    login(client, alice)
    page = client.get(allowlist_url(key)).content.decode()
    assert TEAM_PLAN_MESSAGE in page
    response = client.post(allowlist_url(key), sudo_data(alice, add="203.0.113.0/24"))
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.allowed_networks == []


def test_usage_alerts_toggle_from_the_page(client, bob, key):
    login(client, bob)
    response = client.post(alerts_url(key), {"enabled": "on"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.usage_alerts_enabled is True
    assert events("apikey.usage_alerts_changed")[0].actor_email == bob.email
    client.post(alerts_url(key), {"enabled": "off"})
    key.refresh_from_db()
    assert key.usage_alerts_enabled is False
    assert client.get(alerts_url(key)).status_code == 405


@pytest.mark.parametrize("who", ["mallory", "charlie"])
def test_members_and_other_accounts_get_404(request, client, enterprise, key, who):
    login(client, request.getfixturevalue(who))
    assert client.get(allowlist_url(key)).status_code == 404
    assert client.post(alerts_url(key), {"enabled": "on"}).status_code == 404
    key.refresh_from_db()
    assert key.usage_alerts_enabled is False

"""Another account's objects do not exist for a credential: 404 on every object route, never 403,
and nothing of theirs changes. Lists and related ids stay inside the credential's account."""

import pytest

from statuspool.monitoring.models import AlertRule
from tests.api.fixtures import ALL_SCOPES, error_code, snapshot
from tests.api.routes import OBJECT_ROUTES


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_alices_key_on_charlies_objects_is_404(api, make_bearer, seeded_a, seeded_b, route):
    bearer = make_bearer(seeded_a.account, ALL_SCOPES)
    before = snapshot(seeded_b.account)
    body = route.body(seeded_a.ids) if route.body else None
    response = api(route.method, route.url(seeded_b.ids), bearer, json=body)
    assert response.status_code == 404, response.content
    assert error_code(response) == "not_found"
    assert snapshot(seeded_b.account) == before


LISTS = {
    "/v2/monitors": "monitor",
    "/v2/incidents": "incident",
    "/v2/alert-rules": "rule",
    "/v2/notification-channels": "channel",
    "/v2/dispatches": "dispatch",
    "/v2/team/members": "member",
}


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_show_only_the_credentials_account(api, make_bearer, seeded_a, seeded_b, path):
    response = api("GET", path, make_bearer(seeded_a.account, ALL_SCOPES))
    ids = {str(item["id"]) for item in response.json()["results"]}
    assert str(seeded_a.ids[LISTS[path]]) in ids
    assert str(seeded_b.ids[LISTS[path]]) not in ids


def test_api_key_list_shows_only_the_credentials_account(api, make_bearer, seeded_a, seeded_b):
    response = api("GET", "/v2/api-keys", make_bearer(seeded_a.account, ["teams:admin"]))
    public_ids = {item["public_id"] for item in response.json()["results"]}
    assert seeded_a.key.public_id in public_ids
    assert seeded_b.key.public_id not in public_ids


def test_charlies_uptime_and_incidents_are_404(api, make_bearer, seeded_a, seeded_b):
    bearer = make_bearer(seeded_a.account, ["monitors:read"])
    for suffix in ("uptime", "incidents"):
        response = api("GET", f"/v2/monitors/{seeded_b.monitor.pk}/{suffix}", bearer)
        assert response.status_code == 404


@pytest.mark.parametrize("field", ["monitor", "channels"])
def test_rule_cannot_point_at_another_accounts_objects(api, make_bearer, seeded_a, seeded_b, field):
    bearer = make_bearer(seeded_a.account, ["alerts:write"])
    value = seeded_b.monitor.pk if field == "monitor" else [str(seeded_b.channel.pk)]
    response = api(
        "POST",
        "/v2/alert-rules",
        bearer,
        json={"name": "sneaky", "condition": "down", field: value},
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_failed"
    assert "in this account" in str(response.json()["error"]["fields"][field])
    assert not AlertRule.objects.filter(name="sneaky").exists()

"""Settings → API Access: sort by name, created, last used and status; filter by status and scope."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import apikey_suspend
from tests.conftest import login

pytestmark = pytest.mark.django_db

LIST = "/settings/api-access/"


@pytest.fixture
def keys(make_key, system_actor):
    now = timezone.now()
    beta, _ = make_key(name="beta", scopes=["monitors:read", "alerts:read"])
    alpha, _ = make_key(name="Alpha", scopes=["monitors:write"])
    gamma, _ = make_key(name="gamma", scopes=["monitors:read"])
    ApiKey.objects.filter(pk=beta.pk).update(created_at=now - timedelta(days=3), last_used_at=now)
    ApiKey.objects.filter(pk=alpha.pk).update(created_at=now - timedelta(days=2))
    ApiKey.objects.filter(pk=gamma.pk).update(
        created_at=now - timedelta(days=1), last_used_at=now - timedelta(hours=5)
    )
    apikey_suspend(key=ApiKey.objects.get(pk=alpha.pk), actor=system_actor, reason="idle")
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


def names(client, **params):
    response = client.get(LIST, params)
    assert response.status_code == 200
    return [key.name for key in response.context["live_keys"]]


def test_sorts_by_each_column_both_ways(client, alice, keys):
    login(client, alice)
    assert names(client) == ["gamma", "Alpha", "beta"]  # newest first by default
    assert names(client, sort="name") == ["Alpha", "beta", "gamma"]  # case-insensitive
    assert names(client, sort="-name") == ["gamma", "beta", "Alpha"]
    assert names(client, sort="created") == ["beta", "Alpha", "gamma"]
    assert names(client, sort="-last_used") == ["beta", "gamma", "Alpha"]  # never used last
    assert names(client, sort="status") == ["Alpha", "beta", "gamma"]  # suspended first
    assert names(client, sort="nonsense") == ["gamma", "Alpha", "beta"]


def test_filters_by_status_and_scope(client, alice, keys):
    login(client, alice)
    assert names(client, status="suspended") == ["Alpha"]
    assert names(client, status="active") == ["gamma", "beta"]
    assert names(client, scope="monitors:read") == ["gamma", "beta"]
    assert names(client, scope="monitors:read", status="suspended") == []
    page = client.get(LIST, {"scope": "alerts:write"}).content.decode()
    assert "No key matches these filters" in page


def test_headers_link_to_the_other_direction_and_keep_filters(client, alice, keys):
    login(client, alice)
    page = client.get(LIST, {"sort": "name", "scope": "monitors:read"}).content.decode()
    assert 'aria-sort="ascending"' in page
    assert 'href="?scope=monitors%3Aread&amp;sort=-name"' in page
    assert 'href="?scope=monitors%3Aread&amp;sort=-created"' in page

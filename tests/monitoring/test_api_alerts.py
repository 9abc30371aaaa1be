"""Alert rules, notification channels (secret write-only, encrypted at rest), dispatches."""

import pytest
from django.db import connection

from statuspool.monitoring.models import AlertDispatch, AlertRule, NotificationChannel
from tests.api.fixtures import issue_key

SLACK = "https://hooks.slack.example/T000/B000/very-secret-token"
ROUTING_KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey12"


@pytest.fixture
def bearer(seeded_a):
    return f"Bearer {issue_key(seeded_a.account, ['alerts:read', 'alerts:write'])[1]}"


def stored_secret_column(channel_id) -> str:
    with connection.cursor() as cursor:
        table = NotificationChannel._meta.db_table
        cursor.execute(
            f"SELECT secret FROM {table} WHERE id = %s",
            [channel_id.hex if connection.vendor == "sqlite" else channel_id],
        )
        return cursor.fetchone()[0]


def test_channel_secret_is_write_only_and_encrypted(api, bearer, seeded_a):
    response = api(
        "POST",
        "/v2/notification-channels",
        bearer,
        json={"name": "Ops", "kind": "slack", "secret": SLACK},
    )
    assert response.status_code == 201
    created = response.json()
    assert "secret" not in created and created["has_secret"] is True
    channel = NotificationChannel.objects.get(pk=created["id"])
    assert channel.account_id == seeded_a.account.pk
    assert channel.secret == SLACK
    assert SLACK not in stored_secret_column(channel.pk)  # AES-GCM ciphertext at rest
    for path in ("/v2/notification-channels", f"/v2/notification-channels/{channel.pk}"):
        body = api("GET", path, bearer).content.decode()
        assert "very-secret-token" not in body and "s3cr3t" not in body


def test_update_without_secret_keeps_it_and_with_secret_replaces_it(api, bearer, seeded_a):
    url = f"/v2/notification-channels/{seeded_a.channel.pk}"
    assert api("PATCH", url, bearer, json={"name": "Renamed"}).status_code == 200
    channel = NotificationChannel.objects.get(pk=seeded_a.channel.pk)
    assert (channel.name, channel.secret) == ("Renamed", "https://hooks.example/s3cr3t")
    response = api("PATCH", url, bearer, json={"secret": "https://hooks.example/new"})
    assert response.status_code == 200 and "new" not in response.content.decode()
    assert NotificationChannel.objects.get(pk=channel.pk).secret == "https://hooks.example/new"


def test_switching_kind_needs_the_new_kinds_secret(api, bearer, seeded_a):
    url = f"/v2/notification-channels/{seeded_a.channel.pk}"
    response = api("PATCH", url, bearer, json={"kind": "pagerduty"})
    assert response.status_code == 400
    assert "needs its secret" in str(response.json()["error"]["fields"]["secret"])
    response = api("PATCH", url, bearer, json={"kind": "pagerduty", "secret": ROUTING_KEY})
    assert response.status_code == 200
    assert NotificationChannel.objects.get(pk=seeded_a.channel.pk).secret == ROUTING_KEY


def test_switching_to_email_drops_the_old_secret(api, bearer, seeded_a):
    url = f"/v2/notification-channels/{seeded_a.channel.pk}"
    response = api("PATCH", url, bearer, json={"kind": "email", "address": "ops@acme.test"})
    assert response.status_code == 200
    assert response.json()["has_secret"] is False
    channel = NotificationChannel.objects.get(pk=seeded_a.channel.pk)
    assert (channel.address, channel.secret) == ("ops@acme.test", None)


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"kind": "email"}, "address", "needs an address"),
        ({"kind": "email", "address": "a@b.test", "secret": "x"}, "secret", "no secret"),
        ({"kind": "slack"}, "secret", "needs its secret"),
        ({"kind": "slack", "secret": "http://plain.example/hook-secret"}, "secret", "https://"),
        ({"kind": "pagerduty", "secret": "short-secret"}, "secret", "32 letters"),
        ({"kind": "webhook", "secret": SLACK, "address": "a@b.test"}, "address", "Only email"),
        ({"kind": "carrier-pigeon"}, "kind", "not a valid choice"),
    ],
)
def test_channel_validation(api, bearer, seeded_a, body, field, words):
    response = api("POST", "/v2/notification-channels", bearer, json={"name": "X", **body})
    assert response.status_code == 400
    message = str(response.json()["error"]["fields"][field])
    assert words in message
    # A refused secret is never echoed back.
    assert "hook-secret" not in response.content.decode()
    assert "short-secret" not in response.content.decode()
    assert NotificationChannel.objects.filter(account=seeded_a.account).count() == 1


def test_alert_rule_crud(api, bearer, seeded_a):
    body = {
        "name": "Slow checkout",
        "monitor": seeded_a.monitor.pk,
        "condition": "slow",
        "threshold": 900,
        "channels": [str(seeded_a.channel.pk)],
    }
    response = api("POST", "/v2/alert-rules", bearer, json=body)
    assert response.status_code == 201
    rule = AlertRule.objects.get(pk=response.json()["id"])
    assert (rule.account_id, rule.monitor_id, rule.condition, rule.threshold) == (
        seeded_a.account.pk,
        seeded_a.monitor.pk,
        "slow",
        900,
    )
    assert list(rule.channels.all()) == [seeded_a.channel]
    url = f"/v2/alert-rules/{rule.pk}"
    response = api("PATCH", url, bearer, json={"monitor": None, "channels": []})
    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.monitor is None and rule.channels.count() == 0
    assert api("PATCH", url, bearer, json={"threshold": 0}).status_code == 400
    assert api("DELETE", url, bearer).status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_dispatch_history(api, bearer, seeded_a):
    failed = AlertDispatch.objects.create(
        account=seeded_a.account, channel=seeded_a.channel, status="failed", detail="HTTP 500"
    )
    results = api("GET", "/v2/dispatches", bearer).json()["results"]
    assert [d["id"] for d in results] == [failed.pk, seeded_a.dispatch.pk]
    assert results[1]["rule"] == seeded_a.rule.pk
    assert results[1]["channel"] == str(seeded_a.channel.pk)
    only_failed = api("GET", "/v2/dispatches?status=failed", bearer).json()["results"]
    assert [(d["id"], d["detail"]) for d in only_failed] == [(failed.pk, "HTTP 500")]


def test_alert_rule_list_does_not_query_per_rule(api, bearer, seeded_a, django_assert_num_queries):
    for n in range(5):
        rule = AlertRule.objects.create(account=seeded_a.account, name=f"R{n}")
        rule.channels.set([seeded_a.channel])
    api("GET", "/v2/alert-rules", bearer)  # warm the authentication cache
    with django_assert_num_queries(2):  # the rules, their channels
        assert len(api("GET", "/v2/alert-rules", bearer).json()["results"]) == 6

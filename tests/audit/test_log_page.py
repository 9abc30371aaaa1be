"""Settings → Audit Log: who may read it, filters, keyset pagination, CSV export."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import transaction

from audit.models import AuditEvent
from audit.services import Actor, ActorKind
from tests.conftest import login

from .conftest import add_event

URL = "/settings/audit-log/"
EXPORT = "/settings/audit-log/export.csv"


def event_ids(response):
    return [event.id for event in response.context["page"].rows]


def exported(response):
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_team_admins_read_the_log_newest_first(client, request, events_a, who):
    login(client, request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 200
    assert event_ids(response) == [event.id for event in reversed(events_a)]
    html = response.content.decode().replace("<wbr>", "")  # long values may wrap at separators
    # A list: relative time, exact local and UTC values on hover, the zone named.
    assert (
        '<time datetime="2026-03-05T12:00:00+00:00" title="2026-03-05 12:00 UTC (2026-03-05 12:00:00 UTC)" data-zone="UTC">'
        in html
    )
    assert "alice@acme.test" in html and "203.0.113.9" in html
    assert "API key created" in html and "n: 5" in html


@pytest.mark.parametrize("url", [URL, EXPORT, f"{URL}?action=apikey.created"])
def test_members_get_a_404(client, mallory, events_a, url):
    login(client, mallory)
    assert client.get(url).status_code == 404


def test_another_account_sees_only_its_own_events(client, charlie, events_a, account_b):
    own = add_event(account_b, "apikey.revoked")
    login(client, charlie)
    assert event_ids(client.get(URL)) == [own.id]
    rows = exported(client.get(EXPORT))
    assert [int(row["id"]) for row in rows] == [own.id]


def test_anonymous_visitors_are_sent_to_log_in(client, events_a):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_team_admin_without_2fa_is_sent_to_enrollment(client, account_a):
    from statuspool.accounts.models import Membership, Role
    from tests.conftest import make_user

    dave = make_user("dave@acme.test", with_2fa=False)
    Membership.objects.create(user=dave, account=account_a, role=Role.ADMIN)
    login(client, dave)
    response = client.get(URL)
    assert response.status_code == 302 and "next=" in response["Location"]


def test_filter_by_action_actor_and_dates(client, alice, account_a, events_a):
    bob_actor = Actor(kind=ActorKind.USER, email="bob@acme.test")
    revoked = add_event(
        account_a, "apikey.revoked", actor=bob_actor, at=datetime(2026, 3, 3, 8, tzinfo=UTC)
    )
    login(client, alice)
    assert event_ids(client.get(URL, {"action": "apikey.revoked"})) == [revoked.id]
    assert event_ids(client.get(URL, {"actor": "BOB@acme.test"})) == [revoked.id]
    # Dates are whole UTC days: 2026-03-02 to 2026-03-03 includes both days.
    in_range = event_ids(client.get(URL, {"since": "2026-03-02", "until": "2026-03-03"}))
    assert in_range == [events_a[2].id, revoked.id, events_a[1].id]
    both = client.get(URL, {"action": "apikey.created", "since": "2026-03-04"})
    assert event_ids(both) == [events_a[4].id, events_a[3].id]


def test_filter_by_key_matches_its_events_and_what_it_did(client, alice, account_a, make_key):
    key, _ = make_key(account_a, name="ci")
    other, _ = make_key(account_a, name="other")
    by_key = add_event(
        account_a,
        "apikey.revoked",
        actor=Actor(kind=ActorKind.API_KEY, label=key.display_id),
        target=other,
    )
    login(client, alice)
    created = AuditEvent.objects.get(action="apikey.created", target_id=str(key.pk))
    for value in (key.public_id, key.display_id, f"sp_live_{key.public_id}"):
        assert event_ids(client.get(URL, {"key": value})) == [by_key.id, created.id]


def test_invalid_filters_are_explained(client, alice, events_a):
    login(client, alice)
    response = client.get(URL, {"key": "nope!", "since": "yesterday"})
    assert response.status_code == 200
    assert response.context["page"] is None
    html = response.content.decode()
    assert "public id" in html and "is not a date" in html


def test_a_whole_key_in_the_filter_is_removed_from_the_url(client, alice, account_a, make_key):
    key, raw = make_key(account_a)
    login(client, alice)
    response = client.get(URL, {"key": raw, "action": "apikey.created"})
    assert response.status_code == 302
    assert raw not in response["Location"] and f"key={key.public_id}" in response["Location"]
    page = client.get(response["Location"])
    assert "treat it as exposed" in page.content.decode()


def test_empty_states(client, alice, account_a):
    login(client, alice)
    assert "No audit events yet" in client.get(URL).content.decode()
    filtered = client.get(URL, {"action": "apikey.revoked"}).content.decode()
    assert "No events match these filters" in filtered


def test_keyset_pagination_walks_every_event_once_even_with_equal_times(client, alice, account_a):
    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        same_time = [add_event(account_a, details={"i": i}) for i in range(60)]
    later = [add_event(account_a, at=datetime(2026, 4, 2, 0, i, tzinfo=UTC)) for i in range(45)]
    login(client, alice)
    seen, pages, response = [], 0, client.get(URL)
    while True:
        pages += 1
        seen += event_ids(response)
        older = response.context["page"].older
        if not older:
            break
        response = client.get(URL, {"before": older})
    expected = [event.id for event in reversed(same_time + later)]
    assert seen == expected and pages == 3
    # And back: the newer link of the last page shows the page before it.
    newer = client.get(URL, {"after": response.context["page"].newer})
    assert event_ids(newer) == expected[50:100]


def test_pagination_keeps_the_filters(client, alice, account_a):
    for i in range(55):
        add_event(account_a, "apikey.rotated", at=datetime(2026, 5, 1, 0, 0, i, tzinfo=UTC))
    add_event(account_a, "apikey.revoked", at=datetime(2026, 5, 1, 0, 0, 30, 5, tzinfo=UTC))
    login(client, alice)
    first = client.get(URL, {"action": "apikey.rotated"})
    older = first.context["page"].older
    assert f"action=apikey.rotated&amp;before={older}" in first.content.decode()
    second = client.get(URL, {"action": "apikey.rotated", "before": older})
    assert len(event_ids(second)) == 5
    assert set(
        AuditEvent.objects.filter(id__in=event_ids(second)).values_list("action", flat=True)
    ) == {"apikey.rotated"}


def test_page_query_count_is_constant(client, alice, account_a, django_assert_num_queries):
    for i in range(80):
        add_event(account_a, at=datetime(2026, 5, 1, 0, 0, i % 60, i, tzinfo=UTC))
    login(client, alice)
    before = client.get(URL).context["page"].older
    # session, user, membership+account, 2FA device, the page of events.
    with django_assert_num_queries(5):
        response = client.get(URL, {"before": before})
    assert len(event_ids(response)) == 30


def test_csv_export_streams_the_current_filter(client, alice, account_a, events_a):
    add_event(account_a, "apikey.revoked", details={"reason": "=HYPERLINK(evil)"})
    login(client, alice)
    response = client.get(EXPORT, {"action": "apikey.revoked"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    rows = exported(response)
    assert [row["action"] for row in rows] == ["apikey.revoked"]
    assert rows[0]["actor_email"] == "alice@acme.test"
    assert rows[0]["details"] == '{"reason":"=HYPERLINK(evil)"}'
    everything = exported(client.get(EXPORT))
    assert [int(row["id"]) for row in everything][1:] == [e.id for e in reversed(events_a)]
    assert everything[1]["occurred_at"] == "2026-03-05T12:00:00.123456+00:00"
    assert everything[1]["hash"] == events_a[-1].hash


def test_csv_cells_that_look_like_formulas_are_defused(client, alice, account_a):
    add_event(account_a, actor=Actor(kind=ActorKind.USER, email="x@acme.test", user_agent="=1+2"))
    login(client, alice)
    assert exported(client.get(EXPORT))[0]["user_agent"] == "'=1+2"


def test_the_settings_navigation_lists_the_audit_log_for_admins_only(client, alice, mallory):
    login(client, alice)
    assert 'href="/settings/audit-log/"' in client.get(URL).content.decode()
    client.logout()
    login(client, mallory)
    page = client.get("/settings/security/")
    assert page.status_code == 200
    assert 'href="/settings/audit-log/"' not in page.content.decode()


def test_actor_filter_matches_part_of_an_address(client, alice, account_a):
    mine = add_event(account_a, actor=Actor(kind=ActorKind.USER, email="alice@acme.test"))
    other = add_event(account_a, actor=Actor(kind=ActorKind.USER, email="bob@acme.test"))
    add_event(account_a, actor=Actor(kind=ActorKind.USER, email="carol@bravo.test"))
    login(client, alice)
    assert event_ids(client.get(URL, {"actor": "ALICE"})) == [mine.id]
    assert event_ids(client.get(URL, {"actor": "@acme.test"})) == [other.id, mine.id]


def test_pages_say_where_they_are(client, alice, account_a):
    events = [add_event(account_a, details={"n": n}) for n in range(53)]
    login(client, alice)
    first = client.get(URL).content.decode()
    assert "Showing 1–50, newest first" in first
    older = client.get(URL, {"before": first.split("before=")[1].split("&")[0], "page": "2"})
    html = older.content.decode()
    assert "Showing 51–53, newest first (page 2)" in html
    assert event_ids(older) == [event.id for event in reversed(events[:3])]
    assert "page=1" in html and "← Newer" in html
    # A hand-edited page number on the first page does not make it claim to be elsewhere.
    assert "Showing 1–50" in client.get(URL, {"page": "7"}).content.decode()


def test_one_click_from_a_key_and_an_application_to_their_events(client, alice, account_a):
    from apikeys.services import apikey_create
    from tests.oauthapps.helpers import register_app

    with transaction.atomic():
        key, _ = apikey_create(
            account=account_a, name="ci", scopes=["monitors:read"], actor=Actor.system("t")
        )
    app, _secret = register_app(account_a, user=alice)
    noise = add_event(account_a, "auth.login")
    login(client, alice)
    key_page = client.get(f"/settings/api-access/{key.public_id}/").content.decode()
    assert f'href="{URL}?key={key.public_id}"' in key_page
    app_page = client.get(f"/settings/oauth-applications/{app.pk}/").content.decode()
    assert f'href="{URL}?app={app.pk}"' in app_page
    app_events = client.get(URL, {"app": app.pk})
    actions = [event.action for event in app_events.context["page"].rows]
    assert actions == ["oauth.application_registered"]
    assert noise.id not in event_ids(app_events)
    key_events = client.get(URL, {"key": key.public_id})
    assert [event.action for event in key_events.context["page"].rows] == ["apikey.created"]

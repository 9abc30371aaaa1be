"""The read-only Monitors pages: who may see what, what they show, and how many queries they cost."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone

from statuspool.accounts.middleware import SESSION_KEY
from statuspool.accounts.models import Membership, Role
from statuspool.monitoring.models import (
    AlertRule,
    Incident,
    NotificationChannel,
    UptimeDay,
    uptime_window,
)
from tests.conftest import login, make_user
from tests.monitoring.conftest import add_days, make_monitor

pytestmark = pytest.mark.django_db

LIST = "/monitors/"


def test_list_url_name():
    assert reverse("monitoring:monitor_list") == LIST


def detail(monitor):
    return reverse("monitoring:monitor_detail", args=[monitor.pk])


@pytest.mark.parametrize("url_of", [lambda monitor: LIST, lambda monitor: detail(monitor)])
def test_anonymous_visitors_are_sent_to_login(client, monitors_a, url_of):
    url = url_of(monitors_a["api"])
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL))
    assert "Acme API" not in response.content.decode()


def test_member_sees_their_accounts_monitors_only(client, mallory, monitors_a, monitor_b):
    response = login(client, mallory).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Monitors</h1>" in page
    for name in ("Acme API", "Acme Website", "Acme Legacy"):
        assert name in page
    assert "Bravo Secret Project" not in page
    # Down monitors first (the website has an open incident), then paused ones, then the rest.
    assert [row["monitor"].name for row in response.context["rows"]] == [
        "Acme Website",
        "Acme Legacy",
        "Acme API",
    ]


def test_list_shows_status_badges(client, mallory, monitors_a):
    rows = {row["monitor"].name: row for row in login(client, mallory).get(LIST).context["rows"]}
    assert rows["Acme API"]["monitor"].current_status == "up"
    assert rows["Acme Website"]["monitor"].current_status == "down"  # open incident
    assert rows["Acme Legacy"]["monitor"].current_status == "paused"
    page = client.get(LIST).content.decode()
    assert 'badge badge-down">Down' in page
    assert 'badge badge-paused">Paused' in page
    assert 'badge badge-up">Up' in page


def test_resolved_incidents_do_not_mark_a_monitor_down(client, mallory, monitors_a, account_a):
    Incident.objects.filter(monitor=monitors_a["web"]).update(
        status=Incident.Status.RESOLVED, resolved_at=timezone.now()
    )
    rows = {r["monitor"].name: r for r in login(client, mallory).get(LIST).context["rows"]}
    assert rows["Acme Website"]["monitor"].current_status == "up"


def test_list_shows_weighted_90_day_uptime_and_a_bar_per_day(client, mallory, account_a):
    monitor = make_monitor(account_a, "Weighted")
    add_days(monitor, count=88, checks=1000, failures=0)  # today and the 87 days before
    oldest, _today = uptime_window()
    # The oldest day of the window was bad (half the checks failed); the day after has no data.
    UptimeDay.objects.create(
        monitor=monitor, day=oldest, checks=1000, failures=500, avg_response_ms=900
    )
    row = login(client, mallory).get(LIST).context["rows"][0]
    assert row["percent"] == pytest.approx(100 * (89_000 - 500) / 89_000, abs=0.001)
    levels = [cell.level for cell in row["cells"]]
    assert len(levels) == 90
    assert levels[0] == "down" and levels[1] == "nodata"
    assert levels.count("up") == 88
    page = client.get(LIST).content.decode()
    assert page.count("<rect ") == 90
    assert f"{row['percent']:.2f}%" in page


def test_rows_older_than_the_window_are_left_out(client, mallory, account_a):
    monitor = make_monitor(account_a, "Old data")
    add_days(monitor, count=90)
    UptimeDay.objects.create(
        monitor=monitor,
        day=timezone.now().date() - timedelta(days=90),
        checks=1000,
        failures=1000,
        avg_response_ms=1,
    )
    row = login(client, mallory).get(LIST).context["rows"][0]
    assert row["percent"] == 100.0


def test_empty_state_for_an_account_without_monitors(client, alice):
    page = login(client, alice).get(LIST).content.decode()
    assert "No monitors yet" in page
    assert "monitors:write" in page


def test_user_without_an_account_sees_an_explanation(client, db):
    loner = make_user("loner@example.test")
    page = login(client, loner).get(LIST).content.decode()
    assert "not a member of any account" in page


def test_the_current_account_chosen_in_the_session_is_shown(client, charlie, account_a, monitors_a):
    Membership.objects.create(user=charlie, account=account_a, role=Role.MEMBER)
    login(client, charlie)
    session = client.session
    session[SESSION_KEY] = account_a.pk
    session.save()
    page = client.get(LIST).content.decode()
    assert "Acme API" in page


def test_list_query_count_does_not_grow_with_monitors(
    client, mallory, monitors_a, account_a, django_assert_num_queries
):
    login(client, mallory)
    # session, user, membership + account, monitors with the open-incident flag, uptime rows
    with django_assert_num_queries(5):
        client.get(LIST)
    for n in range(5):
        add_days(make_monitor(account_a, f"Extra {n}"), count=30)
    with django_assert_num_queries(5):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 8


def test_detail_shows_configuration_history_incidents_and_applicable_rules(
    client, mallory, monitors_a, account_a, monitor_b
):
    web = monitors_a["web"]
    UptimeDay.objects.filter(monitor=web, day=timezone.now().date()).update(failures=12)
    slack = NotificationChannel(account=account_a, name="#acme-ops", kind="slack")
    slack.secret = "https://hooks.slack.com/services/T000/B000/acme-secret-value"
    slack.save()
    everyone = AlertRule.objects.create(account=account_a, name="Anything down", threshold=2)
    everyone.channels.set([slack])
    AlertRule.objects.create(
        account=account_a, name="Website slow", monitor=web, condition="slow", threshold=1500
    )
    AlertRule.objects.create(account=account_a, name="API only", monitor=monitors_a["api"])

    response = login(client, mallory).get(detail(web))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Acme Website" in page
    assert "https://acme-website.example/health" in page
    assert "every 300 seconds" in page and "HEAD" in page
    assert "HTTP 502 Bad Gateway" in page and 'badge badge-down">Open' in page
    assert [rule.name for rule in response.context["rules"]] == ["Anything down", "Website slow"]
    assert "Down after 2 consecutive failed checks" in page
    assert "Responses slower than 1500 ms" in page
    assert "#acme-ops" in page
    assert "acme-secret-value" not in page
    assert "API only" not in page and "Bravo everything" not in page
    today_row = response.context["days_newest_first"][0]
    assert (today_row.checks, today_row.failures) == (288, 12)
    assert len(response.context["days_newest_first"]) == 90
    assert page.count("<rect ") == 90


def test_detail_of_another_accounts_monitor_is_404(client, charlie, monitors_a):
    response = login(client, charlie).get(detail(monitors_a["api"]))
    assert response.status_code == 404
    assert "Acme API" not in response.content.decode()


def test_detail_of_a_missing_monitor_is_404(client, mallory, monitors_a):
    assert login(client, mallory).get("/monitors/999999/").status_code == 404


def test_detail_for_a_user_without_account_is_404(client, monitors_a):
    loner = make_user("loner@example.test")
    assert login(client, loner).get(detail(monitors_a["api"])).status_code == 404


def test_pages_are_read_only(client, mallory, monitors_a):
    login(client, mallory)
    assert client.post(LIST).status_code == 405
    assert client.post(detail(monitors_a["api"])).status_code == 405
    monitors_a["api"].refresh_from_db()
    assert monitors_a["api"].paused is False


def test_detail_query_count_is_flat(
    client, mallory, monitors_a, account_a, django_assert_num_queries
):
    web = monitors_a["web"]
    AlertRule.objects.create(account=account_a, name="Everything")
    login(client, mallory)
    # session, user, membership, monitor (+ open flag), uptime days, incidents, rules, channels
    with django_assert_num_queries(8):
        client.get(detail(web))
    for n in range(4):
        channel = NotificationChannel(account=account_a, name=f"Mail {n}", kind="email")
        channel.save()
        rule = AlertRule.objects.create(account=account_a, name=f"Rule {n}")
        rule.channels.set([channel])
        Incident.objects.create(
            account=account_a,
            monitor=web,
            started_at=timezone.now() - timedelta(days=n + 1),
            resolved_at=timezone.now() - timedelta(days=n + 1) + timedelta(minutes=5),
            status=Incident.Status.RESOLVED,
            cause=f"Blip {n}",
        )
    with django_assert_num_queries(8):
        response = client.get(detail(web))
    assert len(response.context["incidents"]) == 5
    assert len(response.context["rules"]) == 5

"""One time rule: each user's zone, detected once from the browser, changeable, used everywhere."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from audit.filters import AuditFilterForm
from statuspool import timefmt
from tests.conftest import login

MOMENT = datetime(2026, 12, 1, 13, 4, 5, tzinfo=UTC)


def render(source, **context):
    return Template("{% load moments %}" + source).render(Context(context))


def test_when_names_the_zone_and_keeps_utc_on_hover():
    with timezone.override(timefmt.zone_or_utc("Europe/Berlin")):
        html = render("{% when moment %}", moment=MOMENT)
    assert ">2026-12-01 14:04 CET</time>" in html
    assert 'title="2026-12-01 13:04:05 UTC"' in html
    assert 'datetime="2026-12-01T13:04:05+00:00"' in html
    assert 'data-zone="Europe/Berlin"' in html


def test_relative_times_carry_the_exact_local_and_utc_values():
    now = timezone.now()
    with timezone.override(timefmt.zone_or_utc("Asia/Dubai")):
        html = render('{% when moment "relative" %}', moment=now - timezone.timedelta(hours=3))
    assert ">3\xa0hours ago</time>" in html
    assert "UTC+04" in html and " UTC)" in html


def test_numeric_zone_abbreviations_read_as_utc_offsets():
    assert timefmt.exact(MOMENT, timefmt.zone_or_utc("Asia/Dubai")) == "2026-12-01 17:04 UTC+04"


@pytest.mark.django_db
def test_browser_detection_sets_the_zone_once_and_never_overrides_a_choice(client, alice):
    login(client, alice)
    url = reverse("accounts:time_zone")
    assert client.post(url, {"time_zone": "Europe/Berlin", "detected": "1"}).status_code == 204
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Berlin"
    # A second detection (another browser, a trip) does not change what is stored.
    assert client.post(url, {"time_zone": "Asia/Tokyo", "detected": "1"}).status_code == 204
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Berlin"
    # The Security page's form does.
    response = client.post(url, {"time_zone": "America/New_York"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.time_zone == "America/New_York"
    assert client.post(url, {"time_zone": "Mars/Olympus", "detected": "1"}).status_code == 400
    alice.refresh_from_db()
    assert alice.time_zone == "America/New_York"


@pytest.mark.django_db
def test_pages_ask_for_detection_only_while_the_zone_is_unknown(client, alice):
    login(client, alice)
    assert b"data-detect-time-zone" in client.get(reverse("accounts:security")).content
    alice.time_zone = "Europe/Berlin"
    alice.save(update_fields=["time_zone"])
    page = client.get(reverse("accounts:security")).content.decode()
    assert "data-detect-time-zone" not in page
    assert "<strong>Europe/Berlin</strong>" in page


@pytest.mark.django_db
def test_dashboard_times_are_shown_in_the_users_zone(client, alice):
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])
    login(client, alice)
    page = client.get(reverse("accounts:security")).content.decode()
    device = alice.totp_device
    expected = timefmt.exact(device.confirmed_at, timefmt.zone_or_utc("Asia/Tokyo"))
    assert expected.endswith(" JST") and expected in page


def test_filters_read_dates_in_the_active_zone_and_say_which():
    with timezone.override(timefmt.zone_or_utc("Europe/Berlin")):
        form = AuditFilterForm({"since": "2026-12-01", "until": "2026-12-01T12:00"})
        assert form.is_valid(), form.errors
        assert form.fields["since"].label == "From (Europe/Berlin)"
    assert form.cleaned_data["since"] == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert form.cleaned_data["until"] == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    # /v2 and commands run in UTC: the same text means UTC there.
    api_form = AuditFilterForm({"since": "2026-12-01"})
    assert api_form.is_valid()
    assert api_form.cleaned_data["since"] == datetime(2026, 12, 1, tzinfo=UTC)

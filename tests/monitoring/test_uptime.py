from datetime import date, timedelta

import pytest

from statuspool.monitoring.models import UptimeDay, uptime_window
from statuspool.monitoring.templatetags.monitoring_tags import timedelta_text, uptime_strip
from statuspool.monitoring.uptime import day_cells, level_for, window_percent


def row(day, checks, failures):
    return UptimeDay(day=day, checks=checks, failures=failures, avg_response_ms=100)


@pytest.mark.parametrize(
    ("percent", "level"),
    [
        (100.0, "up"),
        (99.9, "up"),
        (99.89, "degraded"),
        (99.0, "degraded"),
        (98.99, "down"),
        (None, "nodata"),
    ],
)
def test_levels(percent, level):
    assert level_for(percent) == level


def test_day_cells_cover_every_day_and_mark_gaps():
    start = date(2026, 1, 1)
    cells = day_cells([row(date(2026, 1, 2), 100, 50)], start, date(2026, 1, 3))
    assert [c.day for c in cells] == [start, start + timedelta(1), start + timedelta(2)]
    assert [c.level for c in cells] == ["nodata", "down", "nodata"]
    assert cells[1].percent == 50.0


def test_window_percent_weights_by_checks():
    rows = [row(date(2026, 1, 1), 1000, 0), row(date(2026, 1, 2), 10, 10)]
    assert window_percent(rows) == pytest.approx(99.01, abs=0.01)
    assert window_percent([]) is None
    assert window_percent([row(date(2026, 1, 1), 0, 0)]) is None


def test_uptime_window_is_90_days_ending_today():
    start, end = uptime_window(date(2026, 3, 31))
    assert end == date(2026, 3, 31)
    assert (end - start).days + 1 == 90


def test_strip_describes_itself_for_screen_readers():
    start = date(2026, 1, 1)
    cells = day_cells(
        [row(start, 100, 50), row(start + timedelta(1), 1000, 5)], start, start + timedelta(2)
    )
    strip = uptime_strip(cells, 97.5)
    assert strip["summary"] == "3-day uptime 97.50%, 1 days with an outage, 1 degraded"
    assert [bar["x"] for bar in strip["bars"]] == [0, 4, 8]
    assert strip["bars"][2]["title"].endswith("no data")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0.5, "under a minute"), (35, "35 min"), (125, "2 h 5 min"), (60 * 24 * 3 + 61, "3 d 1 h")],
)
def test_durations(minutes, text):
    assert timedelta_text(timedelta(minutes=minutes)) == text


def test_alert_rule_thresholds_in_words():
    from statuspool.monitoring.models import AlertRule

    assert AlertRule(condition="down", threshold=1).condition_summary == "Down after 1 failed check"
    assert AlertRule(condition="ssl_expiry", threshold=14).condition_summary == (
        "TLS certificate expires within 14 days"
    )

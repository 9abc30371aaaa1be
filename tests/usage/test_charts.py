"""The pieces the usage pages share: window choice, figures as people read them, the sparkline."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from usage import charts
from usage.templatetags.usage_charts import milliseconds, percent, sparkline


@pytest.mark.parametrize(
    ("query", "window"),
    [("", "24h"), ("?window=7d", "7d"), ("?window=90d", "90d"), ("?window=365d", "24h")],
)
def test_the_window_comes_from_the_query_string_or_the_default(query, window):
    assert charts.window_from(RequestFactory().get(f"/x/{query}")) == window


def test_window_links_mark_the_current_one_and_keep_other_parameters():
    links = charts.window_links("30d", sort="error_rate")
    assert [link["name"] for link in links] == ["24h", "7d", "30d", "90d"]
    assert [link["current"] for link in links] == [False, False, True, False]
    assert links[0]["query"] == "?window=24h&sort=error_rate"
    assert links[1]["label"] == "Last 7 days"


def test_rates_and_latencies_read_as_people_say_them():
    assert [percent(v) for v in (0, 0.0004, 0.0123, 1)] == ["0.0%", "< 0.1%", "1.2%", "100.0%"]
    assert (milliseconds(None), milliseconds(42)) == ("—", "42 ms")


def test_a_sparkline_is_an_svg_with_its_numbers_spoken():
    svg = str(sparkline([0, 3, 6, 0, 0, 0, 1]))
    assert svg.startswith('<svg class="sparkline"')
    assert 'aria-label="Requests per day, last 7 days: 0, 3, 6, 0, 0, 0, 1"' in svg
    assert svg.count("<rect") == 7
    assert 'height="20" class="sparkline-day"' in svg  # the busiest day fills the height
    assert svg.count('class="sparkline-zero"') == 4
    assert "style=" not in svg  # the CSP allows no inline style attributes


def test_a_week_without_requests_is_a_flat_baseline():
    svg = str(sparkline([0] * 7))
    assert svg.count('height="1" class="sparkline-zero"') == 7


def test_the_chart_input_has_the_tables_numbers():
    bucket = SimpleNamespace(
        start=datetime(2026, 12, 1, tzinfo=UTC),
        ok=5,
        client_errors=2,
        rate_limited=1,
        server_errors=0,
        p95_ms=120,
    )
    usage = SimpleNamespace(
        window=SimpleNamespace(bucket="day", name="7d"),
        buckets=[bucket],
        top_endpoints=[SimpleNamespace(method="GET", path="/v2/monitors", requests=8, errors=3)],
        top_clients=[
            SimpleNamespace(ip="203.0.113.9", country="DE", country_name="Germany", requests=8)
        ],
    )
    data = charts.credential_chart(usage)
    assert data["labels"] == ["Dec 01"] and data["axis"] == "Day (UTC)"
    assert [s["data"] for s in data["statuses"]] == [[5], [2], [1], [0]]
    assert data["endpoints"] == {"labels": ["GET /v2/monitors"], "succeeded": [5], "errors": [3]}
    assert data["clients"] == {"labels": ["203.0.113.9 · Germany"], "requests": [8]}
    assert data["p95"] == [120]


def test_the_sparkline_tag_works_in_a_template():
    html = Template("{% load usage_charts %}{% sparkline values %}").render(
        Context({"values": [1, 2]})
    )
    assert "last 2 days: 1, 2" in html

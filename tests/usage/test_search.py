"""Request search (issue 13 item 4): every filter of "Requests made with this key", keyset pages
with signed cursors, and bad input as a form error. Runs on PostgreSQL (``inet`` containment) and
on SQLite (the embedded default's SQL function) alike."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import login
from usage.ipnetworks import ip_in_network
from usage.models import RequestLog
from usage.search import RequestSearchForm, filtered

URL = "/settings/audit-log/requests/"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def logged(key, at=None, **fields):
    values = {
        "method": "GET",
        "path": "/v2/monitors",
        "status": 200,
        "ip": "198.51.100.20",
        "country": "NL",
        **fields,
    }
    return RequestLog.objects.create(
        occurred_at=at or NOW - timedelta(minutes=5),
        account_id=key.account_id,
        credential_kind="api_key",
        credential_id=key.pk,
        credential_label=key.display_id,
        **values,
    )


@pytest.fixture
def old_key(account_a, make_key):
    """old_key(name): a key of account A made long before NOW (its exposure covers the rows)."""

    def make(name):
        with time_machine.travel(NOW - timedelta(days=90), tick=False):
            return make_key(account=account_a, name=name)[0]

    return make


@pytest.fixture
def key(old_key):
    return old_key("searched")


@pytest.fixture
def admin(client, alice):
    return login(client, alice)


def search(admin, key, **filters):
    with time_machine.travel(NOW, tick=False):
        return admin.get(URL, {"key": key.public_id, **filters})


def ids(response):
    assert response.status_code == 200, response.status_code
    assert response.context["page"] is not None, response.context["form"].errors
    return {row.id for row in response.context["page"].rows}


def test_time_window_presets_count_back_from_now(admin, key):
    at = {
        label: logged(key, NOW - age).id
        for label, age in [
            ("30m", timedelta(minutes=30)),
            ("3h", timedelta(hours=3)),
            ("2d", timedelta(days=2)),
            ("10d", timedelta(days=10)),
            ("40d", timedelta(days=40)),
        ]
    }
    assert ids(search(admin, key, window="1h")) == {at["30m"]}
    assert ids(search(admin, key, window="24h")) == {at["30m"], at["3h"]}
    assert ids(search(admin, key, window="7d")) == {at["30m"], at["3h"], at["2d"]}
    assert ids(search(admin, key, window="30d")) == {at["30m"], at["3h"], at["2d"], at["10d"]}
    assert ids(search(admin, key)) == set(at.values())  # the whole exposure


def test_a_preset_sets_the_typed_from_to_aside_and_shows_its_own(admin, key):
    recent = logged(key, NOW - timedelta(minutes=10))
    logged(key, NOW - timedelta(days=3))
    response = search(admin, key, window="24h", since="2020-01-01", until="2020-01-02")
    assert ids(response) == {recent.id}
    html = response.content.decode()
    assert 'name="since" id="id_since" value="2026-03-09T12:00"' in html
    assert "last 24 hours" in html


def test_custom_window_is_read_in_the_users_time_zone(admin, alice, key):
    alice.time_zone = "Europe/Berlin"  # UTC+1 in March
    alice.save(update_fields=["time_zone"])
    inside = logged(key, datetime(2026, 3, 5, 9, 30, tzinfo=UTC))  # 10:30 in Berlin
    logged(key, datetime(2026, 3, 5, 8, 30, tzinfo=UTC))  # 09:30 in Berlin
    logged(key, datetime(2026, 3, 5, 10, 30, tzinfo=UTC))  # 11:30 in Berlin
    response = search(admin, key, since="2026-03-05T10:00", until="2026-03-05T11:00")
    assert ids(response) == {inside.id}
    assert "From (Europe/Berlin)" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("2xx", {200, 201}),
        ("4xx", {401, 404}),  # 429 is a class of its own, as on the usage charts
        ("429", {429}),
        ("5xx", {500, 503}),
        ("404", {404}),
        ("3xx", set()),
        (" 5XX ", {500, 503}),
    ],
)
def test_status_class_or_exact_code(admin, key, status, expected):
    rows = {code: logged(key, status=code).id for code in (200, 201, 401, 404, 429, 500, 503)}
    assert ids(search(admin, key, status=status)) == {rows[code] for code in expected}


def test_method_and_path_prefix(admin, key):
    listing = logged(key, path="/v2/monitors")
    one = logged(key, path="/v2/monitors/4")
    deleted = logged(key, path="/v2/monitors/4", method="DELETE")
    logged(key, path="/v2/incidents")
    underscore = logged(key, path="/v2/a_c")
    logged(key, path="/v2/abc")
    assert ids(search(admin, key, path="/v2/monitors")) == {listing.id, one.id, deleted.id}
    assert ids(search(admin, key, path="/v2/monitors/", method="GET")) == {one.id}
    assert ids(search(admin, key, method="DELETE")) == {deleted.id}
    # LIKE wildcards in what was typed are plain characters.
    assert ids(search(admin, key, path="/v2/a_")) == {underscore.id}


ADDRESSES = [
    "203.0.113.7",
    "203.0.113.200",
    "203.0.114.1",
    "10.0.0.9",
    "10.0.0.10",
    "10.0.0.100",
    "2001:db8::1",
    "2001:db8:ffff::5",
    "2001:db9::1",
    None,
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("203.0.113.7", {"203.0.113.7"}),
        ("203.0.113.0/24", {"203.0.113.7", "203.0.113.200"}),
        ("203.0.113.9/24", {"203.0.113.7", "203.0.113.200"}),  # host bits: its network
        ("203.0.112.0/23", {"203.0.113.7", "203.0.113.200"}),
        ("10.0.0.8/31", {"10.0.0.9"}),  # not "10.0.0.1…" as text would have it
        ("10.0.0.0/28", {"10.0.0.9", "10.0.0.10"}),
        ("10.0.0.10", {"10.0.0.10"}),
        ("0.0.0.0/0", {a for a in ADDRESSES if a and ":" not in a}),
        ("2001:db8::/32", {"2001:db8::1", "2001:db8:ffff::5"}),
        ("2001:DB8:0:0::1", {"2001:db8::1"}),  # written another way, same address
        ("2001:db8::/48", {"2001:db8::1"}),
        ("2001:db8:ffff::5/128", {"2001:db8:ffff::5"}),
    ],
)
def test_client_address_exact_or_cidr_v4_and_v6(admin, key, typed, expected):
    rows = {address: logged(key, ip=address).id for address in ADDRESSES}
    assert ids(search(admin, key, ip=typed)) == {rows[address] for address in expected}


def test_the_address_filter_runs_in_the_database(key, db_vendor):
    logged(key, ip="203.0.113.7")
    form = RequestSearchForm({"ip": "203.0.113.0/24"})
    assert form.is_valid()
    with CaptureQueriesContext(connection) as queries:
        assert filtered(RequestLog.objects.for_api_key(key), form.cleaned_data).count() == 1
    sql = queries[-1]["sql"]
    assert ("<<=" in sql) if db_vendor == "postgresql" else ("sp_ip_in_network" in sql)


def test_the_sqlite_function_compares_addresses_not_text():
    assert ip_in_network("10.0.0.9", "10.0.0.8/31") == 1
    assert ip_in_network("10.0.0.10", "10.0.0.8/31") == 0
    assert ip_in_network("2001:db8::1", "2001:DB8::/32") == 1
    assert ip_in_network("203.0.113.7", "2001:db8::/32") == 0  # another family
    assert ip_in_network("garbage", "10.0.0.0/8") == 0
    assert ip_in_network(None, "10.0.0.0/8") is None


def test_country_by_code_or_name(admin, key):
    german = logged(key, country="DE")
    logged(key, country="NL")
    logged(key, country="")
    assert ids(search(admin, key, country="DE")) == {german.id}
    assert ids(search(admin, key, country="germany")) == {german.id}


def test_filters_combine_and_stay_on_one_key(admin, key, old_key):
    other = old_key("other")
    wanted = logged(key, status=500, method="POST", path="/v2/monitors", ip="203.0.113.7")
    logged(key, status=500, method="POST", path="/v2/monitors", ip="192.0.2.1")
    logged(key, status=200, method="POST", path="/v2/monitors", ip="203.0.113.7")
    logged(other, status=500, method="POST", path="/v2/monitors", ip="203.0.113.7")
    response = search(
        admin, key, status="5xx", method="POST", path="/v2/", ip="203.0.113.0/24", country="NL"
    )
    assert ids(response) == {wanted.id}
    # The exposure review's totals are those of the same search.
    assert response.context["summary"]["count"] == 1
    assert "Matching requests in this window" in response.content.decode()


def _follow(admin, response, rel):
    """The next page's response through the page's own link (``rel`` next/prev)."""
    html = response.content.decode()
    match = re.search(rf'href="\?([^"]+)" rel="{rel}"', html)
    if match is None:
        return None
    query = {k: v[0] for k, v in parse_qs(match.group(1).replace("&amp;", "&")).items()}
    with time_machine.travel(NOW, tick=False):
        return admin.get(URL, query)


def test_keyset_pages_have_no_duplicates_or_gaps_under_equal_timestamps(admin, key):
    stamps = [NOW - timedelta(minutes=m) for m in (1, 2, 3)]
    expected = [logged(key, stamps[n % 3], status=500).id for n in range(130)]
    logged(key, stamps[0], status=200)  # filtered out on every page
    # Newest first: by time, then by id.
    expected.sort(key=lambda i: (-RequestLog.objects.get(pk=i).occurred_at.timestamp(), -i))
    response = search(admin, key, status="5xx")
    pages = [[row.id for row in response.context["page"].rows]]
    while (response := _follow(admin, response, "next")) is not None:
        pages.append([row.id for row in response.context["page"].rows])
    assert [len(page) for page in pages] == [50, 50, 30]
    assert [row for page in pages for row in page] == expected
    # …and back again through the newer links, to the same pages.
    back = _follow(admin, _follow(admin, search(admin, key, status="5xx"), "next"), "next")
    back = _follow(admin, back, "prev")
    assert [row.id for row in back.context["page"].rows] == pages[1]
    assert "status=5xx" in back.content.decode()


def test_a_forged_or_foreign_cursor_is_a_404(admin, key, old_key):
    other = old_key("other")
    for row_key in (key, other):
        for n in range(60):
            logged(row_key, NOW - timedelta(seconds=n))
    first = search(admin, key)
    cursor = first.context["page"].older
    assert cursor and not re.search(r"\d{16}", cursor.split(":")[0])  # opaque, not a timestamp
    assert search(admin, key, before=cursor).status_code == 200
    other_cursor = search(admin, other).context["page"].older
    assert search(admin, key, before=other_cursor).status_code == 404
    assert search(admin, key, before=cursor[:-2] + "xx").status_code == 404
    assert search(admin, key, after="1773144000000000-1").status_code == 404  # a plain position


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("status", "abc", "Enter a status class"),
        ("status", "600", "Enter a status class"),
        ("ip", "300.1.1.1", "Enter an address"),
        ("ip", "10.0.0.0/33", "Enter an address"),
        ("ip", "2001:db8::/129", "Enter an address"),
        ("country", "Atlantis", "two-letter country code"),
        ("path", "v2/monitors", "beginning with /"),
        ("path", "/v2/monitors?x=1", "without a query"),
        ("method", "TRACE", "Select a valid choice"),
        ("window", "2y", "Select a valid choice"),
        ("since", "yesterday-ish", "is not a date"),
        ("until", "9999-12-31", "is out of range"),
    ],
)
def test_bad_input_is_a_form_error_that_keeps_what_was_typed(admin, key, field, typed, message):
    logged(key)
    response = search(admin, key, **{"path": "/v2/", field: typed})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert message in str(response.context["form"].errors[field])
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    if field not in ("method", "window"):
        assert f'value="{typed}"' in html.replace("&#x27;", "'")
    else:
        assert 'name="path"' in html and 'value="/v2/"' in html  # the other filters are kept
    with time_machine.travel(NOW, tick=False):
        export = admin.get(f"{URL}export.csv", {"key": key.public_id, field: typed})
    assert export.status_code == 302
    assert parse_qs(urlparse(export["Location"]).query)[field] == [typed]


def test_the_filters_are_a_shareable_get_url_kept_by_the_links(admin, key):
    for n in range(60):
        logged(key, NOW - timedelta(seconds=n), status=404)
    response = search(admin, key, status="404", ip="198.51.100.0/24")
    html = response.content.decode()
    assert '<form method="get"' in html
    for link in ("export.csv", "export.jsonl"):
        href = re.search(rf'href="([^"]*{re.escape(link)}[^"]*)"', html).group(1)
        query = parse_qs(urlparse(href.replace("&amp;", "&")).query)
        assert query == {"key": [key.public_id], "status": ["404"], "ip": ["198.51.100.0/24"]}
    older = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert parse_qs(older)["status"] == ["404"] and "before" in parse_qs(older)


def test_a_page_costs_the_same_queries_however_many_rows_match(admin, key):
    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert search(admin, key, status="2xx").status_code == 200
        return len(queries)

    logged(key)
    few = queries_for_page()
    for n in range(80):
        logged(key, NOW - timedelta(seconds=n))
    assert queries_for_page() == few

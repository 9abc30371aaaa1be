"""The dashboard while PostgreSQL is unreachable: a 503 page that needs no database (no session,
no account, no navigation), and "Try again" brings the page back once it answers."""

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

from statuspool.accounts import middleware

pytestmark = pytest.mark.django_db(transaction=True)


def test_dashboard_shows_the_unavailable_page_and_recovers(
    logged_in_page, alice, monkeypatch, screenshot
):
    page = logged_in_page(alice)

    def database_down(request):
        raise OperationalError("connection refused")

    monkeypatch.setattr(middleware, "_current_membership", database_down)
    response = page.goto("/monitors/")
    assert response.status == 503
    assert response.headers["retry-after"] == "5"
    expect(
        page.get_by_role("heading", name="StatusPool is temporarily unavailable")
    ).to_be_visible()
    expect(page.get_by_text("Nothing you saved before is lost")).to_be_visible()
    screenshot("database-unavailable")

    monkeypatch.undo()  # the database answers again
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_role("heading", name="Monitors", exact=True)).to_be_visible()
    assert page.url.endswith("/monitors/")

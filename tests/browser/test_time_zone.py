"""The time-zone rule in Chromium: detected once from the browser, then every time names it; and
the Edit scopes page asks for sudo only once a scope is added."""

import pytest

from apikeys.services import apikey_create
from audit.services import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_zone_is_detected_once_and_times_follow_it(browser, live_server, alice, screenshot):
    from django.conf import settings
    from django.test import Client

    context = browser.new_context(
        base_url=live_server.url, locale="en-US", timezone_id="Europe/Berlin"
    )
    client = Client()
    client.force_login(alice)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    try:
        page.goto("/settings/security/")
        # The first page sends the browser's zone and shows itself again in it.
        page.wait_for_selector("body:not([data-detect-time-zone])", state="attached")
        alice.refresh_from_db()
        assert alice.time_zone == "Europe/Berlin"
        since = page.locator("main time").first
        assert since.inner_text().endswith(" CET")
        assert since.get_attribute("title").endswith(" UTC")
        assert "Europe/Berlin" in page.locator("#time-zone-title + p").inner_text()
        # Changing it on the Security page wins over the browser from then on.
        page.select_option("#id_time_zone", "America/Chicago")
        page.get_by_role("button", name="Save time zone").click()
        page.wait_for_selector("text=Times are now shown in America/Chicago")
        assert page.locator("main time").first.inner_text().endswith((" CST", " CDT"))
        alice.refresh_from_db()
        assert alice.time_zone == "America/Chicago"
        screenshot("time-zone-security")
    finally:
        context.close()


def test_edit_scopes_shows_sudo_fields_only_when_adding(logged_in_page, alice, account_a):
    key, _raw = apikey_create(
        account=account_a, name="ci", scopes=["monitors:read"], actor=Actor.system("t")
    )
    page = logged_in_page(alice)
    page.goto(f"/settings/api-access/{key.public_id}/scopes/")
    sudo = page.locator("[data-needed-when-adding]")
    assert not sudo.is_visible()
    page.locator("input[name=scopes][value='alerts:read']").check()
    assert sudo.is_visible()
    assert "You are adding a scope" in sudo.inner_text()
    page.locator("input[name=scopes][value='alerts:read']").uncheck()
    assert not sudo.is_visible()

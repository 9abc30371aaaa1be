"""Every dashboard page, at three desktop widths and on a phone: nothing clipped, axe-clean, every
time in the user's zone and naming it; full-page screenshots for review (``make screenshots``).

The pages come from tests/browser/pages.py; the data from tests/browser/sample.py.
"""

import os

import pytest
from django.urls import reverse

from tests.browser.checks import axe_problems, fit_problems, time_problems
from tests.browser.conftest import SCREENSHOTS
from tests.browser.pages import NOT_PAGES, PAGES, dashboard_url_names
from tests.browser.sample import TIME_ZONE, build_sample

VIEWPORTS = {
    "1280": {"viewport": {"width": 1280, "height": 800}},
    "1440": {"viewport": {"width": 1440, "height": 900}},
    "1920": {"viewport": {"width": 1920, "height": 1080}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}
# Screenshots and axe at one desktop size and the phone; the fit check at every size.
REVIEWED = ("1280", "phone")


def test_every_url_is_catalogued():
    names = dashboard_url_names()
    missing = sorted(set(names) - set(PAGES) - set(NOT_PAGES))
    assert missing == [], f"add these URL names to tests/browser/pages.py: {missing}"
    gone = sorted((set(PAGES) | set(NOT_PAGES)) - set(names))
    assert gone == [], f"tests/browser/pages.py lists URL names that no longer exist: {gone}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_every_page(size, browser, live_server, settings):
    from django.test import Client

    # Room for the key the show-once visit creates, beside the sample's keys in every state.
    settings.APIKEY_MAX_PER_ACCOUNT = 5
    only = set(filter(None, os.environ.get("PAGES", "").split(",")))  # `make screenshots PAGES=…`
    sample = build_sample()
    reviewed = size in REVIEWED
    problems = []
    for url_name, visits in PAGES.items():
        for visit in visits:
            if only and visit.name not in only:
                continue
            context = browser.new_context(
                base_url=live_server.url, locale="en-US", timezone_id=TIME_ZONE, **VIEWPORTS[size]
            )
            try:
                if visit.user is not None:
                    client = Client()
                    client.force_login(getattr(sample, visit.user))
                    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
                    context.add_cookies(
                        [
                            {
                                "name": settings.SESSION_COOKIE_NAME,
                                "value": cookie.value,
                                "url": live_server.url,
                            }
                        ]
                    )
                page = context.new_page()
                page.set_default_timeout(15_000)
                url = reverse(url_name, kwargs=visit.kwargs(sample))
                query = visit.query(sample)
                response = page.goto(f"{url}?{query}" if query else url)
                if response.status != 200:
                    raise AssertionError(f"{url} answered {response.status}")
                if visit.steps:
                    visit.steps(page, sample)
                page.wait_for_load_state("networkidle")
                found = fit_problems(page)
                if reviewed:
                    found += time_problems(page) + axe_problems(page)
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(
                        path=str(SCREENSHOTS / f"page-{visit.name}@{size}.png"), full_page=True
                    )
                problems += [f"{visit.name} @{size}: {problem}" for problem in found]
            except Exception as error:  # one broken page must not hide the others' problems
                problems.append(f"{visit.name} @{size}: {type(error).__name__}: {error}")
            finally:
                context.close()
    assert problems == [], "\n".join(problems)

"""Settings → OAuth Applications with the profile, in Chromium: a public CLI client with a logo,
a scope ceiling and DPoP required; and the consent screen a person of another account sees."""

import io

import pytest
from PIL import Image

from oauthapps.models import Application
from tests.oauthapps.helpers import authorize_url, register_app

pytestmark = pytest.mark.django_db(transaction=True)


def _logo(tmp_path):
    path = tmp_path / "logo.png"
    image = Image.new("RGB", (400, 240), (24, 119, 242))
    for x in range(120, 280):
        for y in range(60, 180):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path)
    return path


def test_register_cli_client_with_profile(live_server, logged_in_page, screenshot, alice, tmp_path):
    page = logged_in_page(alice)
    page.goto("/settings/oauth-applications/new/")
    page.get_by_label("Public client / CLI").check()
    page.fill("#id_name", "statuspool-cli")
    page.fill("#id_description", "Incidents and monitors from your terminal.")
    page.fill("#id_homepage_url", "https://cli.statuspool.example")
    page.fill("#id_privacy_policy_url", "https://cli.statuspool.example/privacy")
    page.set_input_files("#id_logo", str(_logo(tmp_path)))
    page.get_by_label("monitors:read").check()
    page.get_by_label("alerts:read").check()
    page.get_by_label("Require sender-constrained tokens (DPoP)").check()
    screenshot("oauth-register-cli-form")
    page.get_by_role("button", name="Register client").click()

    assert page.locator("h1").inner_text() == "statuspool-cli"
    assert page.get_by_text("Public client / CLI · device flow").is_visible()
    assert page.get_by_text("Required: tokens are bound").is_visible()
    assert page.get_by_text("/oauth/device_authorization").is_visible()
    assert page.get_by_role("link", name="Reset secret").count() == 0
    logo = page.get_by_role("img", name="statuspool-cli logo")
    assert logo.evaluate("img => img.naturalWidth") == 128
    screenshot("oauth-cli-application-detail")
    application = Application.objects.get()
    assert application.client_type == "public" and application.require_dpop
    assert application.allowed_scopes == ["monitors:read", "alerts:read"]


def test_register_with_a_non_image_logo_explains(
    live_server, logged_in_page, screenshot, alice, tmp_path
):
    page = logged_in_page(alice)
    page.goto("/settings/oauth-applications/new/")
    fake = tmp_path / "logo.png"
    fake.write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    page.fill("#id_name", "Grafana")
    page.fill("#id_redirect_uris", "https://grafana.example.com/cb")
    page.set_input_files("#id_logo", str(fake))
    page.get_by_role("button", name="Register client").click()
    assert page.get_by_text("The logo is not an image that can be read.").is_visible()
    screenshot("oauth-register-bad-logo")
    assert not Application.objects.exists()


def test_consent_for_an_application_of_another_account(
    live_server, logged_in_page, screenshot, alice, charlie, account_a, tmp_path
):
    app, _ = register_app(account_a, user=alice)
    app.homepage_url = "https://pagerduty.example.com"
    app.privacy_policy_url = "https://pagerduty.example.com/privacy"
    app.save()
    from audit.services import Actor
    from oauthapps import services

    png = io.BytesIO()
    Image.new("RGB", (128, 128), (6, 172, 56)).save(png, format="PNG")
    services.application_set_logo(application=app, png=png.getvalue(), actor=Actor.system("t"))
    page = logged_in_page(charlie)
    page.goto(authorize_url(app))
    assert page.get_by_text("Not reviewed by StatusPool").is_visible()
    assert page.get_by_text("an account you do not belong to").is_visible()
    assert page.get_by_role("link", name="Privacy policy").get_attribute("href") == (
        "https://pagerduty.example.com/privacy"
    )
    logo = page.get_by_role("img", name="PagerDuty Sync logo")
    assert logo.evaluate("img => img.naturalWidth") == 128
    screenshot("oauth-consent-not-reviewed")


def test_device_page_denial_and_guessing_limit(
    live_server, logged_in_page, screenshot, alice, account_a, settings
):
    from django.test import Client

    from oauthapps.models import DeviceGrant
    from tests.oauthapps.device_helpers import start

    settings.OAUTH_DEVICE_USER_CODE_RATE = "3/15m"
    app, _ = services_register_cli(account_a, alice)
    code = start(Client(), app).json()["user_code"]
    page = logged_in_page(alice)
    page.goto(f"/device?user_code={code}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Deny").click()
    assert page.locator("h1").inner_text() == "Device not connected"
    screenshot("device-denied")
    assert DeviceGrant.objects.get().status == DeviceGrant.DENIED

    page.goto("/device")
    for wrong in ("BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"):
        page.fill("#id_user_code", wrong)
        page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("Too many wrong codes").is_visible()
    screenshot("device-too-many-codes")


def services_register_cli(account, user):
    from audit.services import Actor
    from oauthapps import services

    return services.application_register(
        account=account,
        name="statuspool-cli",
        description="",
        redirect_uris=[],
        actor=Actor.system("tests"),
        created_by=user,
        client_kind="cli",
    )

"""Application profile: homepage, privacy policy, logo, allowed-scopes ceiling, consent display."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from audit.models import AuditEvent
from oauthapps.models import Application, ApplicationLogo
from tests.conftest import login
from tests.oauthapps.helpers import REDIRECT_URI, authorize_url


def _image(fmt="PNG", size=(300, 200), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def _register(client, **extra):
    data = {
        "client_kind": "web",
        "name": "Grafana",
        "description": "Dashboards",
        "redirect_uris": REDIRECT_URI,
        "homepage_url": "https://grafana.example.com",
        "privacy_policy_url": "https://grafana.example.com/privacy",
        "allowed_scopes": ["monitors:read", "alerts:read"],
    } | extra
    return client.post(reverse("oauthapps:application_register"), data)


def test_register_with_profile_and_logo(client, bob):
    login(client, bob)
    logo = SimpleUploadedFile("logo.jpg", _image("JPEG", (600, 300)), content_type="image/jpeg")
    response = _register(client, logo=logo, require_dpop="on")
    assert response.status_code == 200, response.content[:500]
    application = Application.objects.get()
    assert application.homepage_url == "https://grafana.example.com"
    assert application.privacy_policy_url == "https://grafana.example.com/privacy"
    assert application.allowed_scopes == ["monitors:read", "alerts:read"]
    assert application.require_dpop is True
    stored = ApplicationLogo.objects.get(application=application)
    with Image.open(io.BytesIO(bytes(stored.png))) as image:
        assert image.format == "PNG" and image.size == (128, 128)
    served = client.get(application.logo_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served.content == bytes(stored.png)
    assert application.logo_url.startswith("/oauth/logos/")
    event = AuditEvent.objects.get(action="oauth.application_logo_changed")
    assert event.details["logo_sha256_16"] == stored.digest


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", "image/png"), "not an image"),
        (SimpleUploadedFile("x.bmp", _image("BMP"), "image/bmp"), "PNG, JPEG, GIF or WebP"),
        (SimpleUploadedFile("x.png", b"\x89PNG" + b"0" * 2_000_000, "image/png"), "at most"),
    ],
    ids=["svg-text", "bmp", "too-big"],
)
def test_logo_is_validated(client, bob, upload, message):
    login(client, bob)
    response = _register(client, logo=upload)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Application.objects.exists() and not ApplicationLogo.objects.exists()


def test_profile_urls_must_be_https(client, bob):
    login(client, bob)
    response = _register(client, homepage_url="http://grafana.example.com")
    assert b"Use an https:// address." in response.content
    assert not Application.objects.exists()


def test_edit_replaces_and_removes_the_logo(client, bob, app):
    login(client, bob)
    url = reverse("oauthapps:application_edit", args=[app.pk])
    base = {"name": app.name, "description": "", "redirect_uris": REDIRECT_URI}
    logo = SimpleUploadedFile("l.png", _image(), content_type="image/png")
    assert client.post(url, base | {"logo": logo}).status_code == 302
    first = ApplicationLogo.objects.get(application=app).digest
    other = SimpleUploadedFile("l.gif", _image("GIF", color=(0, 0, 255)), content_type="image/gif")
    client.post(url, base | {"logo": other})
    assert ApplicationLogo.objects.get(application=app).digest != first
    client.post(url, base | {"remove_logo": "on"})
    assert not ApplicationLogo.objects.filter(application=app).exists()
    assert client.get(f"/oauth/logos/{app.client_id}/{first}.png").status_code == 404


def test_scope_ceiling_refuses_requests_beyond_it(client, alice, app):
    app.allowed_scopes = ["monitors:read"]
    app.save()
    login(client, alice)
    response = client.get(authorize_url(app, scope="monitors:read alerts:write"))
    assert response.status_code in (302, 400)
    where = response.get("Location", "") + response.content.decode()
    assert "invalid_scope" in where
    assert client.get(authorize_url(app, scope="monitors:read")).status_code == 200


def test_consent_shows_profile_and_marks_apps_of_other_accounts(client, alice, charlie, app):
    app.homepage_url = "https://pagerduty.example.com"
    app.privacy_policy_url = "https://pagerduty.example.com/privacy"
    app.save()
    own = login(Client(), alice).get(authorize_url(app)).content.decode()
    assert "https://pagerduty.example.com/privacy" in own and "Privacy policy" in own
    assert "Not reviewed by StatusPool" not in own
    foreign = login(client, charlie).get(authorize_url(app)).content.decode()
    assert "Not reviewed by StatusPool" in foreign
    assert f"registered by <strong>{app.account.name}</strong>" in foreign

"""The device flow as a CLI and a person drive it (tests of the device flow and of DPoP)."""

from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone

from oauthapps.models import DeviceGrant

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FORM = "application/x-www-form-urlencoded"


def start(client, app, scope="monitors:read alerts:read", client_id=None):
    data = urlencode({"client_id": client_id or app.client_id, "scope": scope})
    return client.post("/oauth/device_authorization", data, content_type=FORM)


def poll(client, app, device_code, **extra):
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": app.client_id}
    return client.post("/oauth/token", data, **extra)


def allow_next_poll():
    DeviceGrant.objects.update(polled_at=timezone.now() - timedelta(minutes=1))


def approve(person, user_code, account, decision="approve"):
    entered = person.post("/device", {"user_code": user_code})
    assert entered.status_code == 302, entered.content[:300]
    return person.post(entered["Location"], {"account": account.pk, "decision": decision})

"""End to end with the example client (examples/statuspool_client.py) as a third party runs it.

The client runs as its own process, the way a terminal runs a CLI: it prints the code to type or
the URL to open and waits, while Chromium — signed in as Alice — approves on /device or on the
consent screen. Then the tokens it obtained are tried the way an attacker who copied them would.
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from joserfc.jwk import ECKey

from audit.services import Actor
from oauthapps import services
from oauthapps.models import AccessToken
from statuspool.monitoring.models import Monitor
from tests.oauthapps.dpop_helpers import ec_key, proof

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspool_client.py"


def run_example(*args, env=None):
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | (env or {}),
    )


def read_until(process, pattern: str) -> re.Match:
    seen = []
    for line in process.stdout:
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"the client ended without printing {pattern!r}: {''.join(seen)}")


def finish(process) -> str:
    output, _ = process.communicate(timeout=90)
    return output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_metadata_lists_device_endpoint_and_dpop_algorithms(live_server):
    meta = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server", timeout=10)
    body = meta.json()
    assert body["device_authorization_endpoint"] == f"{live_server.url}/oauth/device_authorization"
    assert body["dpop_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in body["grant_types_supported"]


def test_device_flow_from_a_terminal_with_dpop(
    live_server, logged_in_page, screenshot, alice, account_a, tmp_path
):
    Monitor.objects.create(account=account_a, name="Checkout API", url="https://shop.example/h")
    app, _ = services.application_register(
        account=account_a,
        name="statuspool-cli",
        description="The StatusPool command line: incidents and monitors from your terminal.",
        redirect_uris=[],
        actor=Actor.system("tests"),
        created_by=alice,
        client_kind="cli",
        homepage_url="https://cli.statuspool.example",
        require_dpop=True,
    )
    saved = tmp_path / "tokens.json"
    cli = run_example(
        "device",
        "--base-url",
        live_server.url,
        "--client-id",
        app.client_id,
        "--scope",
        "monitors:read",
        "--dpop",
        "--save",
        str(saved),
    )
    prompt = read_until(cli, r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})")
    verification_uri, user_code = prompt.group(1), prompt.group(2)
    assert verification_uri == f"{live_server.url}/device"

    page = logged_in_page(alice)
    page.goto(f"{verification_uri}?user_code={user_code}")  # verification_uri_complete
    assert page.input_value("#id_user_code") == user_code
    page.goto(verification_uri)
    assert page.locator("h1").inner_text() == "Connect a device"
    page.fill("#id_user_code", "ZZZZ-ZZZZ")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("That code is not valid").is_visible()
    screenshot("device-entry-wrong-code")
    page.fill("#id_user_code", user_code.lower())
    screenshot("device-entry")
    page.get_by_role("button", name="Continue").click()
    assert page.locator("h1").inner_text() == "Authorize statuspool-cli"
    assert page.get_by_text("signs in on a device").is_visible()
    assert page.get_by_role("link", name="Homepage").is_visible()
    screenshot("device-consent")
    page.get_by_role("button", name="Approve").click()
    assert page.locator("h1").inner_text() == "Device connected"
    screenshot("device-connected")

    output = finish(cli)
    assert cli.returncode == 0, output
    assert "Signed in: DPoP token for scopes monitors:read" in output
    assert "GET /v2/monitors: 200, 1 monitors" in output
    tokens = json.loads(saved.read_text())
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    access = tokens["access_token"]
    key = ECKey.import_key(tokens["dpop_private_jwk"])
    assert AccessToken.objects.get().jkt == key.thumbprint()

    url = f"{live_server.url}/v2/monitors"
    as_bearer = requests.get(url, headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert as_bearer.status_code == 401
    assert 'error="invalid_dpop_proof"' in as_bearer.headers["WWW-Authenticate"]
    without_proof = requests.get(url, headers={"Authorization": f"DPoP {access}"}, timeout=10)
    assert without_proof.status_code == 401
    stolen = {
        "Authorization": f"DPoP {access}",
        "DPoP": proof(ec_key(), "GET", url, access_token=access),
    }
    other_key = requests.get(url, headers=stolen, timeout=10)
    assert other_key.status_code == 401
    assert other_key.headers["WWW-Authenticate"].startswith("DPoP ")
    own = {"Authorization": f"DPoP {access}", "DPoP": proof(key, "GET", url, access_token=access)}
    assert requests.get(url, headers=own, timeout=10).status_code == 200


@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
def test_code_flow_with_pkce_from_the_example(
    live_server, logged_in_page, screenshot, alice, account_a, dpop
):
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    app, secret = services.application_register(
        account=account_a,
        name="Grafana",
        description="Dashboards of your monitors.",
        redirect_uris=[redirect_uri],
        actor=Actor.system("tests"),
        created_by=alice,
    )
    cli = run_example(
        "code",
        "--base-url",
        live_server.url,
        "--client-id",
        app.client_id,
        "--redirect-uri",
        redirect_uri,
        "--scope",
        "monitors:read alerts:read",
        *(["--dpop"] if dpop else []),
        env={"STATUSPOOL_CLIENT_SECRET": secret, "OAUTHLIB_INSECURE_TRANSPORT": "1"},
    )
    url = read_until(cli, r"Open this URL in your browser to sign in: (\S+)").group(1)
    assert "code_challenge_method=S256" in url
    page = logged_in_page(alice)
    page.goto(url)
    assert page.locator("h1").inner_text() == "Authorize Grafana"
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=Signed in. You can close this tab")
    output = finish(cli)
    assert cli.returncode == 0, output
    assert f"Signed in: {'DPoP' if dpop else 'Bearer'} token for scopes" in output
    assert bool(AccessToken.objects.get().jkt) is dpop  # bound to the key only with --dpop
    assert "GET /v2/monitors: 200" in output

#!/usr/bin/env python3
"""A third-party client of StatusPool's OAuth 2.0 server, as an integrator would write one.

Three flows, each ending with a call to GET /v2/monitors:

  code    Authorization code + PKCE (S256) for a web application, with requests-oauthlib. It
          prints the authorization URL, waits for the browser to come back to a loopback
          redirect URI (register e.g. http://127.0.0.1:8765/callback) and exchanges the code.
  device  Device authorization grant (RFC 8628) for a "public client / CLI" application: shows
          a code to type at /device and polls the token endpoint (honouring interval and
          slow_down) until someone approves or denies.
  --dpop  (with either flow) binds the tokens to a key this program generates (RFC 9449): every
          token request and every API call carries a DPoP proof signed with it, so a copied
          access token is useless without the key.

Needs: requests, requests-oauthlib, joserfc (pip install requests requests-oauthlib joserfc).

  python examples/statuspool_client.py device --base-url http://127.0.0.1:8000 \\
      --client-id CLIENT_ID --scope "monitors:read" --dpop
  STATUSPOOL_CLIENT_SECRET=... python examples/statuspool_client.py code \\
      --base-url http://127.0.0.1:8000 --client-id CLIENT_ID \\
      --redirect-uri http://127.0.0.1:8765/callback --scope "monitors:read"

``--save FILE`` writes the tokens (and the DPoP private key) to FILE with mode 0600, the way a
CLI keeps its login; nothing else is written anywhere.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import sys
import time
import urllib.parse

import requests
from joserfc import jws
from joserfc.jwk import ECKey
from requests_oauthlib import OAuth2Session

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def say(*parts):
    print(*parts, flush=True)


class DPoPKey:
    """An ES256 key and the proofs it signs (RFC 9449 §4), with the server's latest nonce."""

    def __init__(self, key=None):
        self.key = key or ECKey.generate_key("P-256")
        self.nonce = None

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        parts = urllib.parse.urlsplit(url)
        claims = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "iat": int(time.time()),
        }
        if access_token:
            digest = hashlib.sha256(access_token.encode()).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if self.nonce:
            claims["nonce"] = self.nonce
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.key)


def token_request(base_url: str, data: dict, *, auth=None, dpop: DPoPKey | None = None):
    """POST /oauth/token; with DPoP, sign a proof and retry once when the server asks for a nonce."""
    url = f"{base_url}/oauth/token"
    for _ in range(2):
        headers = {"DPoP": dpop.proof("POST", url)} if dpop else {}
        response = requests.post(url, data=data, auth=auth, headers=headers, timeout=30)
        if dpop and response.headers.get("DPoP-Nonce"):
            dpop.nonce = response.headers["DPoP-Nonce"]
        if dpop and response.status_code == 400 and _error(response) == "use_dpop_nonce":
            continue
        return response
    return response


def _error(response) -> str:
    try:
        return response.json().get("error", "")
    except ValueError:
        return ""


def call_api(base_url: str, tokens: dict, dpop: DPoPKey | None = None) -> requests.Response:
    url = f"{base_url}/v2/monitors"
    access = tokens["access_token"]
    if tokens.get("token_type") == "DPoP":
        headers = {"Authorization": f"DPoP {access}", "DPoP": dpop.proof("GET", url, access)}
    else:
        headers = {"Authorization": f"Bearer {access}"}
    return requests.get(url, headers=headers, timeout=30)


# --- Device flow (RFC 8628) ----------------------------------------------------------------------
def device_flow(args, dpop: DPoPKey | None) -> dict:
    started = requests.post(
        f"{args.base_url}/oauth/device_authorization",
        data={"client_id": args.client_id, "scope": args.scope},
        timeout=30,
    )
    if started.status_code != 200:
        raise SystemExit(f"Device authorization refused: {started.text}")
    grant = started.json()
    say(f"To sign in, open {grant['verification_uri']} and enter the code {grant['user_code']}")
    say(f"(or open {grant['verification_uri_complete']})")
    interval = grant.get("interval", 5)
    deadline = time.monotonic() + grant["expires_in"]
    while time.monotonic() < deadline:
        time.sleep(interval)
        data = {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]}
        data["client_id"] = args.client_id
        response = token_request(args.base_url, data, dpop=dpop)
        error = _error(response) if response.status_code != 200 else ""
        if response.status_code == 200:
            return response.json()
        if error == "authorization_pending" or response.status_code >= 500:
            continue  # not yet approved, or the server is having a moment: ask again later
        if error == "slow_down":
            interval += 5
            continue
        raise SystemExit(f"Sign-in failed: {error or response.status_code} ({response.text})")
    raise SystemExit("Sign-in failed: the code expired before anyone approved it.")


# --- Authorization code + PKCE (RFC 6749 + RFC 7636) ----------------------------------------------
def _wait_for_redirect(redirect_uri: str) -> str:
    """Serve the loopback redirect URI once; returns the full URL the browser came back to."""
    parts = urllib.parse.urlsplit(redirect_uri)
    received = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            received["url"] = f"{parts.scheme}://{parts.netloc}{self.path}"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Signed in. You can close this tab and return to the terminal.")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer((parts.hostname, parts.port), Handler)
    server.timeout = 300
    while "url" not in received:
        server.handle_request()
    server.server_close()
    return received["url"]


def code_flow(args, dpop: DPoPKey | None) -> dict:
    secret = os.environ.get("STATUSPOOL_CLIENT_SECRET", "")
    if not secret:
        raise SystemExit("Set STATUSPOOL_CLIENT_SECRET to the application's client secret.")
    session = OAuth2Session(
        args.client_id, redirect_uri=args.redirect_uri, scope=args.scope.split(), pkce="S256"
    )
    url, state = session.authorization_url(f"{args.base_url}/oauth/authorize")
    say(f"Open this URL in your browser to sign in: {url}")
    callback = _wait_for_redirect(args.redirect_uri)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    if query.get("state") != state:
        raise SystemExit("The state does not match: not our authorization request.")
    if "error" in query:
        raise SystemExit(f"Sign-in failed: {query['error']}")
    if dpop is None:
        return session.fetch_token(
            f"{args.base_url}/oauth/token",
            code=query["code"],
            client_secret=secret,
            include_client_id=False,  # HTTP Basic client authentication
        )
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": args.redirect_uri,
        "code_verifier": session._code_verifier,
    }
    response = token_request(args.base_url, data, auth=(args.client_id, secret), dpop=dpop)
    if response.status_code != 200:
        raise SystemExit(f"Token request refused: {response.text}")
    return response.json()


def save(path: str, tokens: dict, dpop: DPoPKey | None) -> None:
    stored = dict(tokens)
    if dpop is not None:
        stored["dpop_private_jwk"] = dpop.key.as_dict(private=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(stored, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("flow", choices=["code", "device"])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--scope", default="monitors:read")
    parser.add_argument("--redirect-uri", default="http://127.0.0.1:8765/callback")
    parser.add_argument("--dpop", action="store_true", help="bind the tokens to a DPoP key")
    parser.add_argument("--save", metavar="FILE", help="write the tokens to FILE (mode 0600)")
    args = parser.parse_args(argv)
    args.base_url = args.base_url.rstrip("/")
    dpop = DPoPKey() if args.dpop else None
    tokens = (device_flow if args.flow == "device" else code_flow)(args, dpop)
    say(f"Signed in: {tokens['token_type']} token for scopes {tokens.get('scope', '')}")
    if args.save:
        save(args.save, tokens, dpop)
    response = call_api(args.base_url, tokens, dpop)
    if response.status_code != 200:
        say(f"GET /v2/monitors failed: {response.status_code} {response.text}")
        return 1
    say(f"GET /v2/monitors: {response.status_code}, {len(response.json()['results'])} monitors")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parallel redemptions of one refresh token: exactly one winner, every loser counts as reuse.

Two gunicorn instances share a private PostgreSQL; 16 requests with the same refresh token leave
both at once. RFC 9700 §4.14.2: the server cannot tell the legitimate client from the thief, so
a second redemption revokes the family's active refresh token (the winner's new one too).
"""

import threading
import uuid
from collections import Counter

import pytest
import requests

from audit.models import AuditEvent
from oauthapps.models import AccessToken, RefreshToken
from statuspool.accounts.models import Account, Membership, Role
from tests.conftest import login, make_user
from tests.oauthapps.helpers import exchange_code, obtain_code, register_app
from tests.processes import Gunicorn, on_private_stack, subprocess_env

pytestmark = [pytest.mark.postgres]


def _redeem_together(urls, client_id, secret, refresh_token, count):
    """``count`` refresh requests released at the same instant, alternating between servers."""
    barrier = threading.Barrier(count)
    results: list[tuple[int, dict]] = [None] * count

    def one(index):
        session = requests.Session()
        barrier.wait()
        response = session.post(
            f"{urls[index % len(urls)]}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(client_id, secret),
            timeout=60,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:200]}
        results[index] = (response.status_code, body)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


@pytest.mark.django_db(transaction=True)
def test_parallel_refresh_on_two_instances_has_one_winner_and_revokes_the_family(
    client, private_postgres, tmp_path
):
    with on_private_stack(private_postgres):
        account = Account.objects.create(name=f"Race {uuid.uuid4().hex[:6]}", plan="team")
        user = make_user(f"race-{uuid.uuid4().hex[:8]}@example.test")
        Membership.objects.create(user=user, account=account, role=Role.OWNER)
        app, secret = register_app(account, user=user)
        login(client, user)
        code, verifier = obtain_code(client, app, account=account)
        issued = exchange_code(client, app, secret, code, verifier).json()
        family = RefreshToken.objects.get(authorization__account=account).token_family

    env = subprocess_env(database_url=private_postgres.url(), STATUSPOOL_VAR_DIR=tmp_path / "var",
                         DATABASE_CONN_MAX_AGE=0)  # fmt: skip
    servers = Gunicorn.start_many(2, env, workers=1, threads=8, log_dir=tmp_path)
    try:
        results = _redeem_together(
            [server.url for server in servers], app.client_id, secret, issued["refresh_token"], 16
        )
        logs = "".join(server.output() for server in servers)
    finally:
        for server in servers:
            server.stop()

    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 400: 15}, (results, logs[-3000:])
    assert {body["error"] for status, body in results if status == 400} == {"invalid_grant"}
    assert "Traceback" not in logs

    with on_private_stack(private_postgres):
        # The losers were reuse: nothing of the family is alive, the winner's new pair included.
        members = RefreshToken.objects.filter(token_family=family)
        assert members.count() == 2  # the redeemed one and the single pair the winner got
        assert not members.filter(revoked__isnull=True).exists()
        assert not AccessToken.objects.filter(authorization__account=account).exists()
        assert AuditEvent.objects.filter(
            account=account, action="oauth.refresh_reuse_detected"
        ).exists()
        winner = next(body for status, body in results if status == 200)
        response = client.get(
            "/v2/credential", HTTP_AUTHORIZATION=f"Bearer {winner['access_token']}"
        )
        assert response.status_code == 401

"""Issue 10 item 5: the failed-authentication block never refuses a valid credential.

Reproduction: after API_AUTH_FAILURES_PER_MINUTE bad keys from one address, valid keys from that
address got 429 too (a whole office behind one NAT locked out by one broken script). Now only
failures are limited.
"""

import pytest

from statuspool import api_key_format as tokens
from statuspool.accounts.models import Account
from tests.api.ratelimit.conftest import issue_key, steady_window  # noqa: F401  (fixture)

# A fixed window starts counting again at its edge (second 2 past each minute for OFFICE): the
# failures of a test that straddled it never added up to the limit (seen in CI). The clock stands
# still for each test instead.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_window")]
OFFICE = "198.51.100.120"


@pytest.fixture
def team_account(db):
    return Account.objects.create(name="Office Co", plan="team", billing_email="b@office.test")


@pytest.fixture
def v2(client):
    def call(bearer, ip=OFFICE):
        return client.get("/v2/monitors", HTTP_AUTHORIZATION=bearer, REMOTE_ADDR=ip)

    return call


def test_valid_keys_behind_a_blocked_address_are_served(team_account, v2, settings):
    settings.API_AUTH_FAILURES_PER_MINUTE = 30
    _, valid = issue_key(team_account)
    broken_script = [v2(f"Bearer {tokens.generate()}").status_code for _ in range(30)]
    assert broken_script == [401] * 30
    assert v2(f"Bearer {tokens.generate()}").status_code == 429  # the script stays blocked

    for _ in range(3):
        response = v2(valid)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "600"
    # and the valid requests did not lift the block for failures.
    assert v2(f"Bearer {tokens.generate()}").status_code == 429
    assert v2("Bearer sp_live_malformed").status_code == 429


def test_a_blocked_address_gets_401_never_for_valid_oauth_tokens_either(team_account, v2, settings):
    from tests.oauthapps.helpers import oauth_bearer

    settings.API_AUTH_FAILURES_PER_MINUTE = 2
    bearer = oauth_bearer(team_account, ["monitors:read"])
    for _ in range(2):
        v2(f"Bearer {tokens.generate()}")
    assert v2(f"Bearer {tokens.generate()}").status_code == 429
    assert v2(bearer).status_code == 200

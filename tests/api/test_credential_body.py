"""GET /v2/credential's body is built directly (no serializer on the hot path) but must stay what
its documented serializer renders, for both credential kinds."""

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from statuspool.api.introspection import CredentialOutputSerializer, credential_body
from tests.api.fixtures import issue_key
from tests.oauthapps.helpers import oauth_bearer

FIELDS = dict(
    kind="api_key",
    label="sp_live_4f8a2c91…",
    account_id=7,
    account_name="Acme",
    plan="enterprise",
    scopes=frozenset({"monitors:write", "monitors:read"}),
    allowed_networks=("10.0.0.0/8",),
)


@pytest.mark.parametrize(
    "expires_at", [None, "2027-03-01T12:30:00+00:00", "2027-03-01T14:30:00.250000+02:00"]
)
def test_the_body_is_what_the_serializer_renders(expires_at):
    fields = dict(FIELDS, expires_at=expires_at)
    body = credential_body(**fields)
    serialized = CredentialOutputSerializer(
        {
            "type": "api_key",
            "label": fields["label"],
            "account": {"id": 7, "name": "Acme", "plan": "enterprise"},
            "scopes": sorted(fields["scopes"]),
            "rate_limits": body["rate_limits"],
            "allowed_networks": ["10.0.0.0/8"],
            "expires_at": parse_datetime(expires_at) if expires_at else None,
        }
    ).data
    assert body == serialized
    assert body["rate_limits"]["read"] == {"limit": 2400, "window_seconds": 60}


def test_an_expiry_is_written_in_the_current_time_zone_each_time():
    """The written expiry is kept per process (introspection._timestamp): per time zone too."""
    fields = dict(FIELDS, kind="oauth_token", expires_at="2027-03-01T12:30:00+00:00")
    assert credential_body(**fields)["expires_at"] == "2027-03-01T12:30:00Z"
    with timezone.override("Europe/Berlin"):
        assert credential_body(**fields)["expires_at"] == "2027-03-01T13:30:00+01:00"
    assert credential_body(**fields)["expires_at"] == "2027-03-01T12:30:00Z"


@pytest.mark.parametrize("kind", ["api_key", "oauth_token"])
def test_the_endpoint_answers_the_documented_shape(api, account_a, kind):
    if kind == "api_key":
        bearer = f"Bearer {issue_key(account_a, ['monitors:read'])[1]}"
    else:
        bearer = oauth_bearer(account_a, ["monitors:read"])
    for _ in range(2):  # cold, then warm from the cache
        body = api("GET", "/v2/credential", bearer).json()
        serializer = CredentialOutputSerializer(data=body)
        assert serializer.is_valid(), serializer.errors
        assert body["account"] == {"id": account_a.pk, "name": account_a.name, "plan": "team"}
        assert body["type"] == kind and body["scopes"] == ["monitors:read"]

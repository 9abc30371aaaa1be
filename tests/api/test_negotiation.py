"""/v2's content negotiation answers the usual Accept headers without parsing them, and agrees
with DRF's own negotiation on every header (issue 12)."""

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from statuspool.api.negotiation import JsonApiNegotiation
from tests.api.fixtures import issue_key

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/*",
    "application/json; indent=4",
    "text/html,application/json;q=0.9",
    "text/html",
    "",
]


def _select(negotiation, accept, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/v2/credential{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [JSONRenderer()])
    except Exception as exc:  # DRF refuses with 406 (NotAcceptable) or 404 (unknown ?format=)
        return type(exc)
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=xml", "?limit=5"])
def test_the_same_answer_as_drfs_negotiation(accept, query):
    ours = _select(JsonApiNegotiation(), accept, query)
    assert ours == _select(DefaultContentNegotiation(), accept, query)


def test_plain_requests_skip_the_parsing(monkeypatch):
    def parsed(*args):
        raise AssertionError("parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list", parsed)
    for accept in (None, "*/*", "application/json"):
        assert _select(JsonApiNegotiation(), accept) == (JSONRenderer, "application/json")
    assert _select(JsonApiNegotiation(), "text/html") is AssertionError  # DRF's path


def test_an_api_client_that_only_takes_html_gets_406(api, seeded_a):
    bearer = f"Bearer {issue_key(seeded_a.account, ['monitors:read'])[1]}"
    assert api("GET", "/v2/credential", bearer).status_code == 200
    refused = api("GET", "/v2/credential", bearer, HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert _select(JsonApiNegotiation(), "text/html") is NotAcceptable

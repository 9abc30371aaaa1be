"""Property: whatever a client sends to any /v2 operation, the answer is never a 5xx (issue 11).

Every operation comes from the served OpenAPI schema (``/v2/schema``), so an endpoint added later
is covered without touching this test. Hypothesis draws an operation, then path parameters, query
parameters and a JSON body: arbitrary text (NUL, surrogates' neighbours, other scripts' digits),
numbers at and past the ends of their types, and bodies built from the operation's own field
names with values of any JSON type. The credential is a real key with every scope.
"""

import base64
import json
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statuspool.accounts.models import Account
from statuspool.scopes import SCOPES
from tests.api.fixtures import issue_key

pytestmark = pytest.mark.django_db

_METHODS = {"get", "post", "put", "patch", "delete"}

_text = st.text(max_size=24) | st.sampled_from(
    ["", "0", "-1", "1e309", "9" * 30, "null", "a\x00b", "١٢٣", "9999-12-31", "a/b", "%", "..",
     " ", "0001-01-01T00:00:00+05:00", "2026-02-30"]
)  # fmt: skip
# A cursor is base64 of "p=<position>&r=…": forge the position inside a well-formed one.
_cursors = st.builds(
    lambda position, reverse: base64.b64encode(
        urlencode({"p": position, "r": reverse}).encode()
    ).decode(),
    _text,
    st.sampled_from(["0", "1"]),
)
# Raw bodies JSON encoders would never write: nesting past any recursion limit, truncation.
_raw_bodies = st.integers(min_value=30, max_value=1500).map(lambda n: "[" * n + "]" * n) | (
    st.sampled_from(['{"name": ', '{"name": "\\ud800"}', "{}}", '"\\u0000"', "\xff\xfe"])
)
_numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
_scalars = st.none() | st.booleans() | _numbers | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)


def _operations(schema: dict) -> list[dict]:
    found = []
    for template, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            fields = list(_properties(schema, body.get("schema", {})))
            found.append(
                {
                    "method": method,
                    "template": template,
                    "path": [p["name"] for p in parameters if p["in"] == "path"],
                    "query": [p["name"] for p in parameters if p["in"] == "query"],
                    "fields": fields,
                }
            )
    return found


def _properties(schema: dict, node: dict) -> dict:
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node.get("properties", {})


@st.composite
def _requests(draw, operations):
    operation = draw(st.sampled_from(operations))
    path = operation["template"]
    for name in operation["path"]:
        value = draw(_text | _numbers.map(str))
        path = path.replace("{" + name + "}", quote(value, safe=""))
    names = draw(st.lists(st.sampled_from(operation["query"] or ["x"]), max_size=3))
    query = {name: draw(_cursors if name == "cursor" else _text) for name in names}
    body = None
    if operation["method"] in {"post", "put", "patch"}:
        keys = st.sampled_from(operation["fields"]) | _text if operation["fields"] else _text
        body = draw(
            st.dictionaries(keys, _json, max_size=5).map(json.dumps)
            | _json.map(json.dumps)
            | _raw_bodies
        )
    return operation["method"], path, query, body


@pytest.fixture
def schema_operations():
    document = Client().get("/v2/schema", {"format": "json"})
    assert document.status_code == 200
    operations = _operations(json.loads(document.content))
    assert len(operations) >= 20  # the whole API, not an empty schema
    return operations


def test_no_v2_operation_answers_a_5xx(schema_operations, db):
    account = Account.objects.create(name="Property", plan="enterprise")
    _, raw = issue_key(account, list(SCOPES))
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")

    @settings(
        max_examples=250,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=_requests(schema_operations))
    def no_5xx(request):
        method, path, query, body = request
        url = path + ("?" + urlencode(query) if query else "")
        if body is None:
            response = getattr(client, method)(url)
        else:
            response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code < 500, (method, url, body, response.content[:300])
        assert response["Content-Type"] == "application/json", (method, url)

    no_5xx()

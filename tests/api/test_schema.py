"""OpenAPI schema at /v2/schema and Swagger UI at /v2/docs: public, complete, no CDN, strict CSP."""

import re

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from statuspool.api.introspection import CredentialView
from tests.api.routes import ROUTES


def _schema(client):
    response = client.get("/v2/schema?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_and_lists_every_route_with_its_scope(client, db):
    schema = _schema(client)
    assert schema["openapi"].startswith("3.")
    for route in ROUTES:
        path = re.sub(r"\{[^}]+\}", "{}", route.path)
        matches = [p for p in schema["paths"] if re.sub(r"\{[^}]+\}", "{}", p) == path]
        assert matches, f"{route} is missing from the schema"
        operation = schema["paths"][matches[0]][route.method.lower()]
        expected = f"`{route.scope}`" if route.scope else "any valid credential"
        assert expected in operation["description"], str(route)
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert str(route.ok) in operation["responses"]


def test_schema_documents_the_bearer_scheme_and_error_shape(client, db):
    schema = _schema(client)
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "sp_live_" in scheme["bearerFormat"]
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"] == "#/components/schemas/ErrorDetail"


def test_channel_secret_is_write_only_in_the_schema(client, db):
    schemas = _schema(client)["components"]["schemas"]
    assert schemas["ChannelInput"]["properties"]["secret"]["writeOnly"] is True
    assert "secret" not in schemas["Channel"]["properties"]
    assert "digest" not in str(schemas["ApiKey"])


def test_whole_schema_is_valid_openapi(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(out))  # raises when invalid
    assert "/v2/monitors:" in out.read_text()


def test_the_pipeline_and_monitoring_endpoints_document_cleanly(db):
    """No drf-spectacular warning or error for the endpoints built on statuspool.api (other
    apps' /v2 views are checked by their own tests)."""
    ours = [
        path("v2/credential", CredentialView.as_view()),
        path("v2/", include("statuspool.monitoring.api_urls")),
        path("v2/", include("statuspool.accounts.api_urls")),
        path("v2/", include("apikeys.api_urls")),
    ]
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=ours).get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
    validate_schema(schema)
    assert len(schema["paths"]) == 21  # credential, 11 monitoring, 5 team, 4 api-keys


def test_docs_page_uses_only_local_assets_and_a_strict_csp(client, db):
    response = client.get("/v2/docs")
    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references, html
    for reference in references:
        if reference.startswith("/static/"):
            assert finders.find(reference.removeprefix("/static/")), reference
        elif reference not in ("/", "/v2/schema", "#main"):  # back to the dashboard, the schema
            # the page's own initialisation script, from the same view
            assert reference.startswith("/v2/docs?"), reference
    assert "http://" not in html and "https://" not in html
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in policy
    # Our own docs template has no inline <style>: the site's strict policy applies unchanged.
    assert directives["style-src"] == "'self'"


def test_docs_script_points_at_the_schema(client, db):
    response = client.get("/v2/docs?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/v2/schema"' in response.content.decode()


def test_other_pages_keep_the_strict_style_policy(client, db):
    policy = client.get("/v2/monitors")["Content-Security-Policy"]
    assert "style-src 'self';" in policy + ";" and "sha256" not in policy

"""The OpenAPI document and its documentation page."""
import json

from guichet_gateway.app import SWAGGER_UI_CDN
from guichet_gateway.routes import API_V1


def spec(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def test_the_document_is_openapi_3_with_every_api_route_under_v1(client):
    document = spec(client)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Guichet"
    assert document["info"]["license"]["identifier"] == "AGPL-3.0-or-later"
    paths = set(document["paths"])
    assert f"{API_V1}/" in paths
    probes = {"/api/health", "/api/ready", "/api/metrics"}
    assert probes <= paths
    assert all(path.startswith(API_V1 + "/") for path in paths - probes - {"/.well-known/jwks.json"})
    # The Prometheus exposition is text, and documented so.
    assert list(document["paths"]["/api/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]


def test_errors_are_documented_as_problem_documents(client):
    document = spec(client)
    validation = document["paths"]["/api/v1/test/personnes"]["post"]["responses"]["422"]
    assert validation == {"$ref": "#/components/responses/UNPROCESSABLE_CONTENT"} or \
        validation["$ref"].startswith("#/components/responses/UNPROCESSABLE")
    name = validation["$ref"].rsplit("/", 1)[1]
    content = document["components"]["responses"][name]["content"]
    assert list(content) == ["application/problem+json"]
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "instance", "request_id", "errors"} <= set(problem)


def test_protected_routes_declare_the_bearer_token_and_401_403(client):
    document = spec(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Jeton d'accès (EdDSA) délivré par le service des comptes."}
    operation = document["paths"]["/api/v1/test/me"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403"} <= set(operation["responses"])
    for status in ("401", "403"):
        ref = operation["responses"][status]["$ref"].rsplit("/", 1)[1]
        assert ref in document["components"]["responses"]
    assert "security" not in document["paths"]["/api/v1/"]["get"]


def test_the_not_ready_answer_is_documented(client):
    document = spec(client)
    responses = document["paths"]["/api/ready"]["get"]["responses"]
    assert set(responses) == {"200", "503", "default"}
    not_ready = document["components"]["responses"][responses["503"]["$ref"].rsplit("/", 1)[1]]
    assert not_ready["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    # The problem names what is down: the members the readiness problem carries are declared.
    assert {"broker", "services", "down"} <= set(document["components"]["schemas"]["Problem"]["properties"])


def test_every_reference_resolves(client):
    document = spec(client)

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]


def test_the_documentation_page_loads_swagger_ui_from_the_pinned_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"{SWAGGER_UI_CDN}swagger-ui-bundle.js" in page
    assert "/api/openapi.json" in page


def test_rate_limited_routes_keep_their_documentation(client):
    operation = spec(client)["paths"]["/api/v1/test/connexion"]["post"]
    assert "requestBody" in operation and "422" in operation["responses"]

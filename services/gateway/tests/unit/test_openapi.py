"""The OpenAPI document and its documentation page."""
import json
import re
from urllib.parse import urlsplit

from guichet_gateway import docs
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


def test_the_documentation_page_loads_swagger_ui_from_the_gateway_only(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "data-openapi='/api/openapi.json'" in page
    references = re.findall(r"(?:src|href)='([^']*)'", page)
    assert {"/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css",
            "/api/docs/assets/guichet-docs.js"} <= set(references)
    # Same origin only: no scheme, no host, and no inline script for the policy to allow.
    assert all(not urlsplit(url).scheme and not urlsplit(url).netloc for url in references)
    assert "<script>" not in page and "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for url in references:
        asset = client.get(url)
        assert asset.status_code == 200 and asset.get_data(), url
    assert client.get("/api/docs/assets/guichet-docs.js").mimetype == "text/javascript"
    # Swagger UI's online validator would send the document's address to a third party.
    assert "validatorUrl: null" in client.get("/api/docs/assets/guichet-docs.js").get_data(as_text=True)
    assert docs.swagger_ui_version().startswith("v5.")  # Swagger UI 5 reads OpenAPI 3.1


def test_only_swagger_ui_files_are_served(client):
    for name in ("VERSION", "LICENSE", "oauth2-redirect.html", "..%2Fflask_swagger_ui.py", "swagger-ui.js"):
        assert client.get(f"/api/docs/assets/{name}").status_code == 404, name


def test_rate_limited_routes_keep_their_documentation(client):
    operation = spec(client)["paths"]["/api/v1/test/connexion"]["post"]
    assert "requestBody" in operation and "422" in operation["responses"]

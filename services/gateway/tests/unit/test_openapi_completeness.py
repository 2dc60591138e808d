"""The OpenAPI document describes every answer, so a client can generate code and check what it gets.

Walks the document of the real application (no test routes): every operation
has a success answer with a schema (or a 204 without a body), each of its
media types has one, and every error it declares, the default one included,
is an ``application/problem+json`` problem document; a page for browsers
(``text/html``) may stand beside a problem, never instead of it.
"""
from __future__ import annotations

import pytest

from guichet_gateway.app import create_app
from guichet_gateway.settings import GatewaySettings

from .conftest import FakeRpc

PROBLEM = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Media types that are not JSON and are described as such (a text, a page, a file).
NON_JSON = ("text/html", "text/plain", "audio/wav", "image/png", "application/pdf", "text/csv")


@pytest.fixture(scope="module")
def document():
    settings = GatewaySettings.from_env({"GUICHET_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"})
    app = create_app(settings, rpc_client=FakeRpc())  # the real routes only (no test blueprint)
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document) -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


def resolve(document, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def success_problems(document, responses: dict) -> list[str]:
    successes = {status: resolve(document, answer) for status, answer in responses.items()
                 if status.startswith("2")}
    if not successes:
        return ["no success answer"]
    problems = []
    for status, answer in successes.items():
        content = answer.get("content") or {}
        if not content and status != "204":
            problems.append(f"{status} has no content (only a 204 may have no body)")
        for media_type, description in content.items():
            if not description.get("schema"):
                problems.append(f"{status} {media_type} has no schema")
            elif media_type not in NON_JSON and "json" not in media_type:
                problems.append(f"{status} {media_type} is neither JSON nor a known non-JSON type")
    return problems


def error_problems(document, responses: dict) -> list[str]:
    problems = []
    for status, answer in responses.items():
        if not (status == "default" or status[0] in "45"):
            continue
        content = resolve(document, answer).get("content") or {}
        if content.get("application/problem+json", {}).get("schema") != PROBLEM:
            problems.append(f"{status} is not an application/problem+json Problem")
        problems += [f"{status} also answers {media_type}" for media_type in content
                     if media_type not in ("application/problem+json", "text/html")]
    return problems


def test_the_document_has_operations_of_every_area(document):
    tags = {tag for _, _, operation in operations(document) for tag in operation.get("tags", [])}
    assert {"system", "index", "accounts", "notifications"} <= tags
    assert len(operations(document)) > 40


def test_every_operation_describes_its_success_answers(document):
    missing = {f"{method.upper()} {path}": found for path, method, operation in operations(document)
               if (found := success_problems(document, operation["responses"]))}
    assert missing == {}


def test_every_error_an_operation_declares_is_a_problem_document(document):
    wrong = {f"{method.upper()} {path}": found for path, method, operation in operations(document)
             if (found := error_problems(document, operation["responses"]))}
    assert wrong == {}
    for path, method, operation in operations(document):
        assert "default" in operation["responses"], f"{method.upper()} {path}"


def test_the_checks_catch_an_answer_without_schema_and_an_error_that_is_not_a_problem(document):
    assert success_problems(document, {"200": {"description": "OK"}}) == [
        "200 has no content (only a 204 may have no body)"]
    assert success_problems(document, {"204": {"description": "No content"}}) == []
    assert success_problems(document, {"422": {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}}) == [
        "no success answer"]
    assert error_problems(document, {"404": {"description": "x", "content": {
        "application/json": {"schema": PROBLEM}}}}) == ["404 is not an application/problem+json Problem",
                                                         "404 also answers application/json"]
    assert error_problems(document, {"422": {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}}) == []

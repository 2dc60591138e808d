"""Every error is an RFC 9457 problem with a stable type, a French detail, the path and the request id."""
import pytest

from guichet_common.errors import InternalError, ServiceTimeout, ServiceUnavailable
from guichet_common.rpc_client import RemoteError, RemoteProblem

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["type"] == f"urn:guichet:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.path
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_route_is_a_404_problem(client):
    body = assert_problem(client.get("/api/v1/nulle-part"), 404, "not-found")
    assert body["detail"] == "La ressource demandée n'existe pas."


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/health")
    body = assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]
    assert "autorisée" in body["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_a_415_problem(client, content_type):
    response = client.post("/api/v1/test/personnes", data="nom=Dupont", content_type=content_type)
    body = assert_problem(response, 415, "unsupported-media-type")
    assert "JSON" in body["detail"]


def test_put_and_patch_bodies_must_be_json_too(client):
    assert_problem(client.put("/api/v1/test/me/profil", data="x", content_type="text/plain"), 415,
                   "unsupported-media-type")
    assert_problem(client.patch("/api/v1/test/personnes", data="x", content_type="text/csv"), 415,
                   "unsupported-media-type")


def test_a_body_without_content_type_is_a_415_problem(client):
    response = client.post("/api/v1/test/personnes", data=b'{"nom": "Dupont"}')
    assert_problem(response, 415, "unsupported-media-type")


def test_json_with_a_structured_suffix_and_a_charset_is_accepted(client):
    response = client.post("/api/v1/test/personnes", data='{"nom": "Dupont"}',
                           content_type="application/merge-patch+json; charset=utf-8")
    assert response.status_code == 201


def test_a_route_reading_a_form_accepts_form_bodies(client):
    response = client.post("/api/v1/test/upload", data={"titre": "Justificatif"})
    assert response.status_code == 200
    assert response.get_json() == {"titre": "Justificatif"}


def test_a_post_without_body_is_not_a_415(client):
    response = client.post("/api/v1/test/personnes")
    assert response.status_code == 422  # the body is required, but nothing was sent in a wrong format


def test_415_is_not_answered_for_an_unknown_route(client):
    assert_problem(client.post("/api/v1/inconnu", data="x", content_type="text/plain"), 404, "not-found")


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/test/personnes", data='{"nom": ', content_type="application/json")
    body = assert_problem(response, 400, "invalid-json")
    assert body["detail"] == "Le contenu de la requête n'est pas un document JSON valide."


def test_a_body_too_large_is_a_413_problem(make_app):
    client = make_app(max_body_bytes=100).test_client()
    response = client.post("/api/v1/test/personnes", json={"nom": "x" * 200})
    assert_problem(response, 413, "payload-too-large")


def test_an_unexpected_error_is_a_500_that_leaks_nothing(client, caplog):
    response = client.get("/api/v1/test/boom")
    body = assert_problem(response, 500, "internal")
    text = response.get_data(as_text=True)
    assert "secret" not in text and "jean.dupont" not in text and "RuntimeError" not in text
    assert body["detail"] == InternalError.detail
    assert "unexpected gateway error" in caplog.text


def test_a_service_refusal_keeps_its_own_status_and_body(client, fake_rpc):
    fake_rpc.replies[("demarches", "submit")] = RemoteProblem({
        "type": "urn:guichet:problem:validation", "title": "Données invalides", "status": 422,
        "detail": "Certaines informations saisies sont invalides.", "errors": {"nom": ["Champ obligatoire."]}})
    body = assert_problem(client.get("/api/v1/test/rpc/demarches/submit"), 422, "validation")
    assert body["errors"] == {"nom": ["Champ obligatoire."]}
    assert body["detail"] == "Certaines informations saisies sont invalides."


def test_a_service_conflict_keeps_its_extra_members(client, fake_rpc):
    fake_rpc.replies[("billing", "pay")] = RemoteProblem({
        "type": "urn:guichet:problem:cart-other-regie", "title": "Panier", "status": 409,
        "detail": "Votre panier contient déjà une facture d'une autre régie.", "regie": "CCAS"})
    body = assert_problem(client.get("/api/v1/test/rpc/billing/pay"), 409, "cart-other-regie")
    assert body["regie"] == "CCAS"


def test_an_unreachable_service_is_a_503_problem(client, fake_rpc):
    fake_rpc.replies[("billing", "invoices")] = ServiceUnavailable()
    body = assert_problem(client.get("/api/v1/test/rpc/billing/invoices"), 503, "service-unavailable")
    assert "indisponible" in body["detail"]


def test_a_service_too_slow_is_a_504_problem(client, fake_rpc):
    fake_rpc.replies[("billing", "invoices")] = ServiceTimeout()
    body = assert_problem(client.get("/api/v1/test/rpc/billing/invoices"), 504, "service-timeout")
    assert "à temps" in body["detail"]


def test_a_service_crash_is_a_500_problem_without_its_text(client, fake_rpc):
    fake_rpc.replies[("accounts", "crash")] = RemoteError("KeyError", "'jean.dupont@example.org'")
    response = client.get("/api/v1/test/rpc/accounts/crash")
    assert_problem(response, 500, "internal")
    assert "jean.dupont" not in response.get_data(as_text=True)
    assert "KeyError" not in response.get_data(as_text=True)


def test_a_bad_rpc_call_is_a_500_problem(client, fake_rpc):
    fake_rpc.replies[("accounts", "renamed")] = InternalError()
    assert_problem(client.get("/api/v1/test/rpc/accounts/renamed"), 500, "internal")


def test_too_many_requests_is_a_429_problem_with_retry_after(make_app):
    client = make_app(ratelimit_default="2/minute").test_client()
    assert client.get("/api/v1/").status_code == 200
    assert client.get("/api/v1/").status_code == 200
    response = client.get("/api/v1/")
    body = assert_problem(response, 429, "too-many-requests")
    assert body["detail"] == "Trop de tentatives. Veuillez réessayer plus tard."
    assert int(response.headers["Retry-After"]) > 0


def test_a_service_lock_out_is_a_429_with_its_retry_after_header(client, fake_rpc):
    fake_rpc.replies[("accounts", "locked")] = RemoteProblem(
        {"type": "urn:guichet:problem:too-many-requests", "title": "Trop de tentatives", "status": 429,
         "detail": "Trop de tentatives.", "retry_after": 899.2})
    response = client.get("/api/v1/test/rpc/accounts/locked")
    body = assert_problem(response, 429, "too-many-requests")
    # The rate limiter keeps the later of its own reset (a minute at most) and the service's.
    assert int(response.headers["Retry-After"]) in (899, 900) and body["retry_after"] == 899.2


def test_the_rate_limit_counts_per_client_address(make_app):
    client = make_app(ratelimit_default="1/minute").test_client()
    assert client.get("/api/v1/", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    assert client.get("/api/v1/", environ_base={"REMOTE_ADDR": "192.0.2.2"}).status_code == 200
    assert client.get("/api/v1/", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(make_app):
    client = make_app(ratelimit_default="1/minute", trusted_proxies=1).test_client()
    first = {"X-Forwarded-For": "203.0.113.7"}
    assert client.get("/api/v1/", headers=first).status_code == 200
    assert client.get("/api/v1/", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200
    assert client.get("/api/v1/", headers=first).status_code == 429


def test_a_route_can_tighten_its_own_limit(client):
    assert client.post("/api/v1/test/connexion", json={"prenom": "Léa"}).status_code == 200
    assert client.post("/api/v1/test/connexion", json={}).status_code == 422
    assert_problem(client.post("/api/v1/test/connexion", json={"prenom": "Léa"}), 429, "too-many-requests")
    assert client.get("/api/v1/").status_code == 200  # the default limit elsewhere is untouched


def test_probes_are_never_rate_limited(make_app):
    client = make_app(ratelimit_default="1/minute").test_client()
    for _ in range(3):
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/metrics").status_code == 200


def test_problems_are_utf8_french_not_escaped(client):
    response = client.get("/api/v1/nulle-part")
    assert "demandée".encode() in response.data

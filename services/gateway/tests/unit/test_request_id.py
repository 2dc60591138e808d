"""X-Request-ID: accepted when sane, generated otherwise, echoed everywhere, carried by RPC calls."""
import re

import pytest

from guichet_common import context

HEX_UUID = re.compile(r"[0-9a-f]{32}")


def test_a_sane_incoming_id_is_echoed(client):
    response = client.get("/api/health", headers={"X-Request-ID": "lb-42.abc_DEF-9"})
    assert response.headers["X-Request-ID"] == "lb-42.abc_DEF-9"


def test_an_id_is_generated_when_none_is_sent(client):
    first = client.get("/api/health").headers["X-Request-ID"]
    second = client.get("/api/health").headers["X-Request-ID"]
    assert HEX_UUID.fullmatch(first) and HEX_UUID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("insane", [
    "a" * 129, "with space", "quote\"d", "semi;colon", "accentué", "", "new\\nline", "<script>"])
def test_an_insane_incoming_id_is_replaced(client, insane):
    response = client.get("/api/health", headers={"X-Request-ID": insane})
    assert HEX_UUID.fullmatch(response.headers["X-Request-ID"])


def test_the_longest_sane_id_is_kept(client):
    sane = "x" * 128
    assert client.get("/api/health", headers={"X-Request-ID": sane}).headers["X-Request-ID"] == sane


def test_error_responses_carry_the_id_in_header_and_body(client):
    response = client.get("/api/v1/absent", headers={"X-Request-ID": "req-404"})
    assert response.headers["X-Request-ID"] == "req-404"
    assert response.get_json(force=True)["request_id"] == "req-404"


def test_a_415_refused_before_any_view_carries_the_id(client):
    response = client.post("/api/v1/test/personnes", data="x", content_type="text/plain",
                           headers={"X-Request-ID": "req-415"})
    assert response.status_code == 415
    assert response.headers["X-Request-ID"] == "req-415"
    assert response.get_json(force=True)["request_id"] == "req-415"


def test_the_id_is_the_correlation_id_of_rpc_calls_and_is_unbound_afterwards(client, fake_rpc):
    fake_rpc.replies[("demarches", "catalogue")] = ["état civil"]
    response = client.get("/api/v1/test/rpc/demarches/catalogue", headers={"X-Request-ID": "corr-1"})
    assert response.status_code == 200
    assert fake_rpc.calls_to("demarches", "catalogue")[0]["correlation_id"] == "corr-1"
    assert context.correlation_id.get() is None


def test_a_generated_id_is_the_correlation_id_too(client, fake_rpc):
    fake_rpc.replies[("demarches", "catalogue")] = []
    response = client.get("/api/v1/test/rpc/demarches/catalogue")
    assert fake_rpc.calls_to("demarches", "catalogue")[0]["correlation_id"] == response.headers["X-Request-ID"]


def test_a_request_id_header_set_by_a_view_is_not_duplicated(client):
    response = client.get("/api/health", headers={"X-Request-ID": "only-one"})
    assert response.headers.getlist("X-Request-ID") == ["only-one"]

"""The OpenAPI document is the truth about the live API: schemathesis fuzzes every operation of the real
gateway (gunicorn) in front of the real services, on the demo data, anonymously, as the demo citizen and as
the demo agent.

Each answer must be documented: no server error, a status the operation declares (or its default problem),
a declared content type, and a body that fits the declared schema (problems included). Generation is
derandomized and bounded (a few examples per operation, no deadline), so a run is repeatable and takes a
minute or two. The rate limits are raised: the fuzzer is here to reach the services, not the limiter
(tested on its own). A URL too long for gunicorn's request line (a 414 page gunicorn writes before the
application runs) is the front server's answer and is not held against the API.

SQLite pass only: the API's shape does not depend on the database, and the PostgreSQL pass would double the
time for nothing the service tests do not already cover there.
"""
from __future__ import annotations

import signal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guichet_common import testing
from guichet_common.config import SERVICES
from guichet_common.testing import Processes, backend

from .test_accounts_e2e import call
from .test_suite import start_gateway

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(backend() == "postgresql", reason="the API's shape does not depend on the database: "
                                                         "fuzzed once, on the SQLite pass"),
]

GUNICORN_REQUEST_LINE_LIMIT = 4094
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=6, derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


class DemoSuite:
    """The suite as ``make run`` starts it, with the demo data: the gateway's address and the demo logins."""

    def __init__(self, base: str, passwords: dict[str, str]):
        self.base = base
        self.passwords = passwords

    def bearer(self, path: str, body: dict) -> dict:
        status, session = call("POST", self.base + "/api/v1" + path, body)
        assert status == 200, session
        return {"Authorization": f"Bearer {session['access_token']}"}


def _demo_passwords(lines: list[str]) -> dict[str, str]:
    """{login: password} from the demo loader's lines ("... login <login> password <password>")."""
    found = {}
    for line in lines:
        words = line.split()
        found[words[words.index("login") + 1]] = words[words.index("password") + 1]
    return found


@pytest.fixture(scope="module")
def demo_suite(tmp_path_factory, module_databases):
    from guichet_accounts import demo
    from guichet_common import migrations
    from guichet_common.registry import load_class

    vhost = testing.TestVhost().create()  # the module's own: its processes outlive each test's vhost
    processes = Processes(vhost.uri, tmp_path_factory.mktemp("fuzz"))
    try:
        urls = {name: module_databases.new(name) for name in SERVICES}
        passwords = _demo_passwords(demo.load(urls["accounts"]))
        for name in SERVICES:
            migrations.upgrade(load_class(name).package(), urls[name])
        started = [processes.service(name, name, urls[name], wait=False) for name in SERVICES]
        for service in started:  # they start side by side
            service.wait_healthy(timeout=60)
        base = start_gateway(processes, GUICHET_RATELIMIT_DEFAULT="100000/minute",
                             GUICHET_RATELIMIT_AUTH="100000/minute")
        yield DemoSuite(base, passwords)
    finally:
        for process in processes.started:  # asked to stop all at once, then waited for one by one
            if process.running:
                process.popen.send_signal(signal.SIGTERM)
        processes.stop_all()
        vhost.delete()


@pytest.fixture(scope="module")
def citizen(demo_suite):
    from guichet_accounts.demo import CITIZEN_LOGIN

    return demo_suite.bearer("/auth/login", {"identifier": CITIZEN_LOGIN,
                                             "password": demo_suite.passwords[CITIZEN_LOGIN]})


@pytest.fixture(scope="module")
def agent(demo_suite):
    from guichet_accounts.demo import AGENT_LOGIN

    return demo_suite.bearer("/auth/agent/login", {"login": AGENT_LOGIN, "password": demo_suite.passwords[AGENT_LOGIN]})


def _document() -> dict:
    """The gateway's OpenAPI document, built by the same code the live gateway runs (a test checks they are
    the same): known at collection time, so each operation is a test of its own."""
    from guichet_gateway.app import create_app
    from guichet_gateway.settings import GatewaySettings

    app = create_app(GatewaySettings.from_env({"GUICHET_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}),
                     rpc_client=object())  # the document needs no service
    return app.test_client().get("/api/openapi.json").get_json()


DOCUMENT = _document()
api = schemathesis.openapi.from_dict(DOCUMENT)
# Signing out or changing the password would end the session the other examples use.
signed_in = api.exclude(path_regex=r"^/api/v1/(auth/logout|me/password)$")


def test_the_live_gateway_serves_the_fuzzed_document(demo_suite):
    status, document = call("GET", demo_suite.base + "/api/openapi.json")
    assert status == 200 and document == DOCUMENT


def call_and_validate(case, base: str, headers: dict | None = None) -> None:
    response = case.call(base_url=base, headers=headers)
    if response.status_code == 414:
        # gunicorn refuses a request line over its limit (limit_request_line, 4094 bytes) with its own page
        # before the application sees the request: the front server's answer, not the API's.
        assert len(response.request.path_url) > GUNICORN_REQUEST_LINE_LIMIT - 100, response.request.path_url
        return
    case.validate_response(response, checks=CHECKS)


@api.parametrize()
@FUZZ
def test_anonymous_calls_get_documented_answers(case, demo_suite):
    call_and_validate(case, demo_suite.base)


@signed_in.parametrize()
@FUZZ
def test_the_demo_citizen_gets_documented_answers(case, demo_suite, citizen):
    call_and_validate(case, demo_suite.base, citizen)


@signed_in.parametrize()
@FUZZ
def test_the_demo_agent_gets_documented_answers(case, demo_suite, agent):
    call_and_validate(case, demo_suite.base, agent)

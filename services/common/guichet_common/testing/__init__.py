"""Test fixtures for every Guichet service: a fresh vhost per run, a fresh database
per service and test, real service processes, and an AMQP spy.

Loaded as a pytest plugin by the repository's conftest.py: pytest registers the
hooks and fixtures it finds on this module, so every one of them is imported here.
The database backend comes from GUICHET_TEST_DATABASE (sqlite, the default, or postgresql).
"""
from .broker import (
    BROKER_URI,
    AmqpSpy,
    TestVhost,
    amqp_spy,
    amqp_uri,
    publish,
    pytest_configure,
    pytest_sessionfinish,
    pytest_unconfigure,
    rpc,
)
from .databases import POSTGRES_ADMIN_URL, DatabaseFactory, backend, databases, module_databases
from .private_broker import PrivateBroker, private_broker
from .processes import (
    REPO,
    Process,
    Processes,
    ServiceProcess,
    migrated_service,
    processes,
    pytest_runtest_makereport,
    python_path,
    wait_for,
)

__all__ = [
    "BROKER_URI", "POSTGRES_ADMIN_URL", "REPO", "AmqpSpy", "DatabaseFactory", "PrivateBroker", "Process",
    "Processes", "ServiceProcess", "TestVhost", "amqp_spy", "amqp_uri", "backend", "databases",
    "migrated_service", "module_databases", "private_broker", "processes", "publish", "pytest_configure",
    "pytest_runtest_makereport", "pytest_sessionfinish", "pytest_unconfigure", "python_path", "rpc", "wait_for",
]

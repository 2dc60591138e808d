import pytest
import sqlalchemy as sa
from guichet_probe import LISTENER, PROBE
from guichet_probe.service import listener_metadata, probe_metadata


def create_tables(url, metadata):
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


@pytest.fixture
def probe_db(databases):
    url = databases.new("probe")
    create_tables(url, probe_metadata)
    return url


@pytest.fixture
def listener_db(databases):
    url = databases.new("probelistener")
    create_tables(url, listener_metadata)
    return url


@pytest.fixture
def probe(processes, probe_db):
    return processes.service(PROBE, "probe", probe_db)


@pytest.fixture
def listener(processes, listener_db):
    return processes.service(LISTENER, "probelistener", listener_db,
                             GUICHET_HANDLER_MAX_ATTEMPTS=3, GUICHET_HANDLER_RETRY_DELAYS="0.2,0.4")

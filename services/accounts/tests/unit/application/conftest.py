"""The application on a fresh SQLite file per test, with a clock the test moves."""
import pytest

from ... import factories


@pytest.fixture
def clock():
    return factories.Clock()


@pytest.fixture
def app(tmp_path, clock):
    application = factories.application(tmp_path, clock)
    yield application
    application.db.dispose()

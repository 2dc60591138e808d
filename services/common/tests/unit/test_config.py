from pathlib import Path

from guichet_common.config import VARIABLES, load_settings, markdown_table


def test_defaults_are_documented_and_used():
    settings = load_settings({})
    assert settings.amqp_uri == VARIABLES["GUICHET_AMQP_URI"][0]
    assert settings.rpc_timeout == 5.0
    assert settings.handler_retry_delays == (1.0, 5.0, 30.0, 120.0)
    assert settings.database_url("accounts").endswith("/var/accounts.sqlite3")
    assert settings.metrics_port("accounts") == 9300 and settings.metrics_port("notifications") == 9304


def test_one_database_url_per_service_from_the_environment():
    settings = load_settings({"GUICHET_BILLING_DATABASE_URL": "postgresql+psycopg://billing@db/billing",
                              "GUICHET_DATA_DIR": "/srv/guichet"})
    assert settings.database_url("billing") == "postgresql+psycopg://billing@db/billing"
    assert settings.database_url("accounts") == f"sqlite:///{Path('/srv/guichet').resolve()}/accounts.sqlite3"


def test_the_readme_table_is_the_code_table():
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    assert markdown_table() in readme, "README's configuration table is stale: paste `guichet config`"

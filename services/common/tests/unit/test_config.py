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


# Names in the sources that are not variables an operator sets, and why.
NOT_OPERATOR_VARIABLES = {
    "GUICHET_DATABASE_URL": "a key of the nameko config dict a service process builds (guichet_common.messaging)",
    "GUICHET_EMBEDDED_RELAY": "a key of the nameko config dict a service process builds (guichet_common.messaging)",
    "GUICHET_NOTIFICATIONS_BREVO_API_KEY": "an example name a town gives in sms_providers[].api_key_env",
    "GUICHET_NOTIFICATIONS_BREVO_REPORT_SECRET": "an example name a town gives in sms_providers[].report_secret_env",
}


def test_every_variable_the_code_reads_is_in_guichet_config():
    """`guichet config` and the README table are the operator's list: a variable read somewhere else
    (GUICHET_RATELIMIT_AUTH, read by a gateway route) must be in it too."""
    import re

    from guichet_common.config import SERVICES

    root = Path(__file__).resolve().parents[4]
    per_service_url = re.compile(r"^GUICHET_(%s)_DATABASE_URL$" % "|".join(s.upper() for s in SERVICES))
    read = set()
    for folder in [root / "contracts", *sorted((root / "services").iterdir())]:
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).parts
            if "tests" in parts or path.stem == "testing" or "testing" in parts:  # GUICHET_TEST_*: README
                continue
            read.update(re.findall(r"\bGUICHET_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    missing = {name for name in read - set(VARIABLES) - set(NOT_OPERATOR_VARIABLES) if not per_service_url.match(name)}
    assert not missing, f"read by the code but not in guichet_common.config.VARIABLES: {sorted(missing)}"

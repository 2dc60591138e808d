"""Every service's migrations build exactly the tables its models declare, and go down and up again."""
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from guichet_common import migrations
from guichet_common.registry import installed, load_class


@pytest.mark.parametrize("name", installed())
def test_migrations_match_the_models_and_round_trip(name, databases):
    service_cls = load_class(name)
    package, metadata = service_cls.package(), service_cls.db.metadata
    url = databases.new(name)
    migrations.upgrade(package, url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == [], f"{name}: models and migrations differ: {differences}"
        command.downgrade(migrations.alembic_config(package, url), "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(package, url)
        assert migrations.current_revision(engine) == migrations.head_revision(package)
    finally:
        engine.dispose()


@pytest.mark.skipif(__import__("guichet_common.testing", fromlist=["backend"]).backend() != "postgresql",
                    reason="concurrent migrators only race on PostgreSQL")
def test_replicas_migrating_at_the_same_time_all_succeed(databases):
    import subprocess
    import sys

    url = databases.new("accounts")
    env = {"GUICHET_ACCOUNTS_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    runs = [subprocess.Popen([sys.executable, "-m", "guichet_common.cli", "migrate", "accounts"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [(run.wait(60), run.stdout.read().decode()) for run in runs]
    assert [code for code, _ in outputs] == [0, 0, 0, 0], outputs

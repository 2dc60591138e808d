"""The migration scripts a process knows follow the files: no cache to clear when one is added or edited."""
import importlib
import textwrap

from guichet_common import migrations

REVISION = textwrap.dedent('''\
    revision = "{revision}"
    down_revision = {down!r}
    branch_labels = None
    depends_on = None


    def upgrade():
        pass


    def downgrade():
        pass
''')


def test_a_migration_added_while_running_is_the_new_head(tmp_path, monkeypatch):
    package = tmp_path / "guichet_cachetest"
    versions = package / "migrations" / "versions"
    versions.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "env.py").write_text("")
    (versions / "0001_first.py").write_text(REVISION.format(revision="0001", down=None))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    assert migrations.head_revision("guichet_cachetest") == "0001"
    assert not migrations.is_known_revision("guichet_cachetest", "0002")
    (versions / "0002_second.py").write_text(REVISION.format(revision="0002", down="0001"))
    assert migrations.head_revision("guichet_cachetest") == "0002"
    assert migrations.is_known_revision("guichet_cachetest", "0002")

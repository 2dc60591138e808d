"""Demo data (idempotent, printed credentials that work) and the import-families command."""
import sqlalchemy as sa

from guichet_accounts import bootstrap, cli, demo
from guichet_accounts.models import accounts, household_members, metadata
from guichet_common.db import Database


def test_demo_data_is_idempotent_and_its_passwords_work(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    demo.load(url)
    lines = demo.load(url)
    assert len(lines) == 2 and "no TOTP" in lines[0]
    password = lines[1].rsplit(" ", 1)[1]
    database = Database("accounts", url, metadata)
    try:
        with database.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(accounts)).scalar_one() == 1
            roles = [r.role for r in connection.execute(sa.select(household_members.c.role))]
        assert sorted(roles) == ["conjoint", "enfant", "enfant", "titulaire"]
        app = bootstrap.for_operator(database)
        session = app.sessions.login(demo.CITIZEN_LOGIN, password)
        assert session["login"] == demo.CITIZEN_LOGIN and session["email_required"] is False
        agent = app.agents.agent_login(demo.AGENT_LOGIN, lines[0].rsplit(" ", 1)[1])
        assert agent["roles"] == ["administrator"]
    finally:
        database.dispose()


def test_import_families_prints_logins_and_passwords(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GUICHET_ACCOUNTS_DATABASE_URL", f"sqlite:///{tmp_path / 'accounts.sqlite3'}")
    source = tmp_path / "familles.csv"
    source.write_text("birth_name;first_name;family_file_ref\nHoarau;Paul;F-1\nPayet;Marie;F-2\n", encoding="utf-8")
    assert cli.main(["import-families", str(source)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "line;account_id;login;password;errors"
    assert [line.split(";")[2] for line in out[1:]] == ["paul.hoarau", "marie.payet"]

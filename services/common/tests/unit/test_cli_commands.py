"""Commands other packages add to ``guichet`` (entry point group guichet.commands), and their absence."""
import importlib.metadata

import pytest

from guichet_common import cli


class _Entry:
    def __init__(self, register):
        self.register = register

    def load(self):
        return self.register


def _only(monkeypatch, *registers):
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [_Entry(r) for r in registers] if group == cli.COMMAND_GROUP else [])


def test_a_command_an_installed_package_registers_runs(monkeypatch, capsys):
    def register(sub):
        sub.add_parser("hello").set_defaults(func=lambda args: print("bonjour"))

    _only(monkeypatch, register)
    cli.main(["hello"])
    assert capsys.readouterr().out == "bonjour\n"


@pytest.mark.parametrize("command", cli.DEVELOPMENT_COMMANDS)
def test_a_development_command_without_the_devtools_says_what_is_missing(monkeypatch, capsys, command):
    _only(monkeypatch)
    with pytest.raises(SystemExit) as stopped:
        cli.main([command])
    assert stopped.value.code == 2
    assert f"guichet {command}: a development command of guichet-devtools" in capsys.readouterr().err


def test_the_chassis_cli_does_not_import_the_development_tools():
    import subprocess
    import sys

    imported = subprocess.run(
        [sys.executable, "-c", "import sys; from guichet_common import cli; "
                               "print(any(m.startswith('guichet_devtools') for m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert imported == "False"

"""deploy/town.example.yaml is the reference of the town settings: every option the loaders accept is in it,
with its default, and nothing else, so the file cannot drift from the code.

An option with no default value to write is shown commented out (``# key: value``, at its indentation): the
"uncommented view" of the file holds every option, and must itself be valid settings.
"""
from __future__ import annotations

import re
from pathlib import Path

import marshmallow as ma
import yaml

from guichet_accounts.bootstrap import AccountsSettings
from guichet_accounts.domain.registration import RegistrationRules
from guichet_common.town import DEFAULT_FILE, TownSettings, load_town
from guichet_notifications.settings import NotificationsSection

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "town.example.yaml"
COMMENTED_OPTION = re.compile(r"^(\s*)# (\s*(?:- )?[a-z_]+:(?:\s.*)?)$")

# The sections TownSettings keeps as free dicts, each validated by its service at start-up; a section with
# no loader yet (a service still to be built) is an option by itself.
SECTION_LOADERS = {
    "accounts": lambda: {*RegistrationRules.__dataclass_fields__, *AccountsSettings.OWN_KEYS},
    "notifications": lambda: schema_options(NotificationsSection()),
}


def schema_options(schema: ma.Schema, prefix: str = "") -> set[str]:
    options = set()
    for name, field in schema.fields.items():
        path = prefix + name
        if isinstance(field, ma.fields.Nested):
            options |= schema_options(field.schema, path + ".")
        elif isinstance(field, ma.fields.List) and isinstance(field.inner, ma.fields.Nested):
            options |= schema_options(field.inner.schema, path + "[].")
        elif isinstance(field, ma.fields.Dict) and name in SECTION_LOADERS and not prefix:
            options |= {f"{path}.{option}" for option in SECTION_LOADERS[name]()}
        else:
            options.add(path)
    return options


def accepted_options() -> set[str]:
    return schema_options(TownSettings())


def uncommented(text: str) -> str:
    return "\n".join(COMMENTED_OPTION.sub(r"\1\2", line) for line in text.splitlines())


def shown_options(node, prefix: str = "") -> set[str]:
    options = set()
    for key, value in node.items():
        path = prefix + key
        if isinstance(value, dict) and value:
            options |= shown_options(value, path + ".")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                options |= shown_options(item, path + "[].")
        else:
            options.add(path)
    return options


def full_view() -> dict:
    return yaml.safe_load(uncommented(EXAMPLE.read_text(encoding="utf-8")))


def test_the_example_is_the_default_town_and_loads():
    assert DEFAULT_FILE == EXAMPLE
    load_town(EXAMPLE)


def test_every_option_the_loaders_accept_is_in_the_example_and_no_other():
    shown, accepted = shown_options(full_view()), accepted_options()
    assert not accepted - shown, f"options missing from {EXAMPLE.name}: {sorted(accepted - shown)}"
    assert not shown - accepted, f"options in {EXAMPLE.name} that no loader accepts: {sorted(shown - accepted)}"


def test_with_every_option_written_out_the_settings_are_still_valid():
    settings = TownSettings().load(full_view())
    AccountsSettings.from_town(settings, environ={})
    NotificationsSection().load(settings["notifications"])


def test_each_option_says_its_default():
    undocumented = []
    for line in uncommented(EXAMPLE.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^\s*(?:- )?([a-z_]+):\s*([^#\s].*?)?\s*(?:#\s*(.*))?$", line)
        if match is None or match.group(2) is None:  # not an option, or a section header
            continue
        comment = match.group(3) or ""
        if not re.search(r"\b(default|required)\b", comment) and match.group(2) != "{}":
            undocumented.append(match.group(1))
    assert not undocumented, f"options without their default in a comment: {undocumented}"

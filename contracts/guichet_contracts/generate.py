"""Generate the JSON Schemas and the AsyncAPI document from the contracts.

    python -m guichet_contracts.generate          # (re)write the files
    python -m guichet_contracts.generate --check  # exit 1 if a file is stale

Outputs, next to the ``guichet_contracts`` package (in ``contracts/``):

- ``jsonschema/<type>.json``: JSON Schema (draft 2020-12) of the whole message
  of each contract, the CloudEvents envelope with its ``data`` payload;
- ``jsonschema/envelope.json``: the envelope common to every message;
- ``asyncapi.yaml``: AsyncAPI 3.0.0 description of the exchanges, routing keys
  and messages.

The documents are built by ``json_schemas`` (marshmallow -> JSON Schema) and ``asyncapi``; this module
renders and writes them. The output is a pure function of the registered contracts: same contracts,
byte-identical files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from .asyncapi import asyncapi_document
from .files import ASYNCAPI_FILENAME, CONTRACTS_DIR, ENVELOPE_FILENAME, JSONSCHEMA_DIRNAME, message_schema_filename
from .json_schemas import GENERATED_NOTE, envelope_schema, example_envelope, message_schema, payload_schema
from .registry import Contract, all_contracts

__all__ = ["builtin_contracts", "envelope_schema", "example_envelope", "main", "message_schema", "payload_schema",
           "render", "stale_files", "write"]


def builtin_contracts() -> list[Contract]:
    """The contracts defined in this package (not those a test registers on the fly)."""
    return [c for c in all_contracts() if c.schema.__module__.startswith("guichet_contracts.")]


# --- rendering -----------------------------------------------------------------------

def render_json(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render_yaml(document: dict) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=120)
    return f"# {GENERATED_NOTE}\n{body}"


def render(contracts: list[Contract] | None = None) -> dict[str, str]:
    """Every generated file: path relative to ``contracts/`` -> content."""
    contracts = sorted(builtin_contracts() if contracts is None else contracts, key=lambda c: c.type)
    files = {f"{JSONSCHEMA_DIRNAME}/{ENVELOPE_FILENAME}": render_json(envelope_schema())}
    for contract in contracts:
        files[f"{JSONSCHEMA_DIRNAME}/{message_schema_filename(contract.type)}"] = render_json(message_schema(contract))
    files[ASYNCAPI_FILENAME] = render_yaml(asyncapi_document(contracts))
    return dict(sorted(files.items()))


def _extra_files(expected: dict[str, str], root: Path) -> list[str]:
    """Generated files on disk that no contract produces any more."""
    directory = root / JSONSCHEMA_DIRNAME
    if not directory.is_dir():
        return []
    return sorted(f"{JSONSCHEMA_DIRNAME}/{path.name}" for path in directory.glob("*.json")
                  if f"{JSONSCHEMA_DIRNAME}/{path.name}" not in expected)


def _differences(files: dict[str, str], root: Path) -> list[tuple[str, str]]:
    """(path, "missing" or "out of date") of each generated file whose copy on disk is not what it should be."""
    found = []
    for relative, content in files.items():
        path = root / relative
        if not path.is_file():
            found.append((relative, "missing"))
        elif path.read_text(encoding="utf-8") != content:
            found.append((relative, "out of date"))
    return found


def stale_files(root: Path | None = None, files: dict[str, str] | None = None) -> list[str]:
    """Descriptions of the files that differ from what generation gives (empty: up to date)."""
    root = CONTRACTS_DIR if root is None else root
    files = render() if files is None else files
    problems = [f"{relative} ({state})" for relative, state in _differences(files, root)]
    problems.extend(f"{relative} (no contract produces it any more)" for relative in _extra_files(files, root))
    return problems


def write(root: Path | None = None, files: dict[str, str] | None = None) -> list[str]:
    """Write the generated files, remove obsolete ones; return what changed."""
    root = CONTRACTS_DIR if root is None else root
    files = render() if files is None else files
    changed = []
    for relative, _ in _differences(files, root):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative], encoding="utf-8")
        changed.append(f"wrote {relative}")
    for relative in _extra_files(files, root):
        (root / relative).unlink()
        changed.append(f"removed {relative}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guichet_contracts.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the stale files if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("Generated contract files are stale (run `make contracts`):", file=sys.stderr)
            for line in stale:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"Generated contract files are up to date ({CONTRACTS_DIR}).")
        return 0
    changed = write()
    for line in changed:
        print(line)
    print(f"{len(changed)} file(s) changed in {CONTRACTS_DIR}." if changed else f"Up to date ({CONTRACTS_DIR}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

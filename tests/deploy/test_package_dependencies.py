"""Each package's pyproject.toml declares the distributions its modules import, and only those.

The packages are installed with --no-deps (the pins live in requirements*.txt),
so nothing else would notice a missing declaration: the image's `pip check`
trusts these lists, and a service copied out of the suite needs them.

For each package (contracts/ and services/*/), every module of its guichet_*
folders is parsed (ast) and each absolute import is mapped to the installed
distributions that provide it (importlib.metadata.packages_distributions):

- an imported distribution must be declared in [project].dependencies (or in an
  optional-dependencies extra, for a module only some users load: the chassis'
  pytest plugin needs pytest, which the image does not have);
- a declared distribution must be imported, unless RUNTIME_ONLY says why a
  package needs it without importing it.
"""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

# Distributions a package declares without importing them, and why.
RUNTIME_ONLY = {
    "guichet-common": {
        "cryptography": "PyJWT's Ed25519 keys and EdDSA signatures (jwt.algorithms.OKPAlgorithm exists only with it)",
        "psycopg": "the PostgreSQL driver SQLAlchemy loads from the postgresql+psycopg:// URLs",
        "psycopg-binary": "psycopg's compiled implementation (no libpq or compiler in the image)",
        "tzdata": "the time zone database zoneinfo falls back to where the system has none",
    },
    "guichet-gateway": {
        "redis": "the client limits loads for a redis:// GUICHET_RATELIMIT_STORAGE_URI (the shared store)",
    },
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_folders() -> list[Path]:
    return [path.parent for path in [ROOT / "contracts" / "pyproject.toml",
                                     *sorted((ROOT / "services").glob("*/pyproject.toml"))]]


def project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared(folder: Path) -> tuple[set[str], set[str]]:
    """(the dependencies, the optional dependencies of every extra), normalised distribution names."""
    meta = project(folder)
    required = {normalise(Requirement(text).name) for text in meta.get("dependencies") or []}
    optional = {normalise(Requirement(text).name)
                for texts in (meta.get("optional-dependencies") or {}).values() for text in texts}
    return required, optional


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the absolute imports of one module, standard library excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "__future__"}


@cache
def _providers() -> dict[str, list[str]]:
    return packages_distributions()


def imported_distributions(folder: Path, root: Path = ROOT) -> tuple[dict[str, set[str]], set[str]]:
    """(distribution -> the modules importing it, import names no installed distribution provides), the
    package's own imports left out."""
    own = {package.name for package in folder.glob("guichet_*")}
    found: dict[str, set[str]] = {}
    unknown = set()
    for path in sorted(p for package in folder.glob("guichet_*") for p in package.rglob("*.py")):
        for name in imported_modules(path) - own:
            providers = _providers().get(name)
            if not providers:
                unknown.add(name)
            for distribution in providers or []:
                found.setdefault(normalise(distribution), set()).add(str(path.relative_to(root)))
    return found, unknown


def dependency_problems(folder: Path, root: Path = ROOT) -> list[str]:
    name = normalise(project(folder)["name"])
    required, optional = declared(folder)
    found, unknown = imported_distributions(folder, root)
    problems = [f"{name}: imports {module}, which no installed distribution provides" for module in sorted(unknown)]
    problems += [f"{name}: imports {distribution} ({sorted(modules)[0]}) without declaring it in "
                 f"{folder.relative_to(root)}/pyproject.toml"
                 for distribution, modules in sorted(found.items()) if distribution not in required | optional]
    runtime_only = set(RUNTIME_ONLY.get(name, {}))
    problems += [f"{name}: declares {distribution}, which none of its modules imports"
                 for distribution in sorted((required | optional) - set(found) - runtime_only)]
    return problems


@pytest.mark.parametrize("folder", package_folders(), ids=lambda folder: str(folder.relative_to(ROOT)))
def test_each_package_declares_what_it_imports(folder):
    assert dependency_problems(folder) == []


def test_runtime_only_dependencies_are_declared_and_pinned():
    """An exception for a dependency nobody declares (or nobody pins) would excuse nothing."""
    pinned = {normalise(line.split("==")[0]) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    for folder in package_folders():
        name = normalise(project(folder)["name"])
        for distribution in RUNTIME_ONLY.get(name, {}):
            assert distribution in declared(folder)[0], f"{name} does not declare {distribution}"
            assert distribution in pinned, f"requirements.txt does not pin {distribution}"


def test_the_checks_catch_a_missing_and_a_needless_declaration(tmp_path):
    folder = tmp_path / "services" / "sample"
    (folder / "guichet_sample").mkdir(parents=True)
    (folder / "guichet_sample" / "service.py").write_text(
        "import json\nimport sqlalchemy as sa\nfrom yaml import safe_load\nfrom . import models\n"
        "from guichet_common import town\nimport guichet_sample.models\n", encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "guichet-sample"\ndependencies = ["PyYAML", "guichet-common", "requests"]\n',
        encoding="utf-8")
    assert dependency_problems(folder, tmp_path) == [
        "guichet-sample: imports sqlalchemy (services/sample/guichet_sample/service.py) without declaring it in "
        "services/sample/pyproject.toml",
        "guichet-sample: declares requests, which none of its modules imports",
    ]

"""Find service classes: installed packages declare them under the ``guichet.services`` entry point group."""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .config import SERVICES


def load_class(spec: str):
    """``name`` of an installed service, or ``package.module:Class`` (test-only services)."""
    if ":" in spec:
        module, _, attr = spec.partition(":")
        return getattr(importlib.import_module(module), attr)
    for entry in entry_points(group="guichet.services"):
        if entry.name == spec:
            return entry.load()
    raise LookupError(f"unknown service {spec!r} (installed: {', '.join(installed()) or 'none'})")


def installed() -> list[str]:
    names = {entry.name for entry in entry_points(group="guichet.services")}
    return [name for name in SERVICES if name in names] + sorted(names - set(SERVICES))

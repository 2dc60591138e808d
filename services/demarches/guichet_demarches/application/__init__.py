"""The demarches application layer: the use cases, one module per group, each call one unit of work.

``DemarchesApplication`` is what the nameko entrypoints (service.py), the CLI and
the demo loader call; bootstrap.py builds it. Use cases arrive with the
service's issue (the procedure catalogue, requests, justificatifs and their processing by agents); accounts' application/ is the model to follow.
"""
from __future__ import annotations

from guichet_common.db import Database


class DemarchesApplication:
    def __init__(self, database: Database):
        self.db = database


__all__ = ["DemarchesApplication"]

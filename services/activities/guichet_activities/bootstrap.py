"""The one wiring place of the activities service: the town's settings, the adapters, the application object.

``build(database)`` is what the service's ``ApplicationProvider`` calls once per container.
"""
from __future__ import annotations

from guichet_common.db import Database

from .application import ActivitiesApplication


def build(database: Database) -> ActivitiesApplication:
    return ActivitiesApplication(database)

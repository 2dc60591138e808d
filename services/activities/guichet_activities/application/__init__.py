"""The activities application layer: the use cases, one module per group, each call one unit of work.

``ActivitiesApplication`` is what the nameko entrypoints (service.py), the CLI and
the demo loader call; bootstrap.py builds it. Use cases arrive with the
service's issue (activities, calendars, enrolment and bookings); accounts' application/ is the model to follow.
"""
from __future__ import annotations

from guichet_common.db import Database


class ActivitiesApplication:
    def __init__(self, database: Database):
        self.db = database


__all__ = ["ActivitiesApplication"]

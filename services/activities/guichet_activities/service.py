"""Entrypoints of the activities service (RPC, event and command handlers) and nothing else.

Each entrypoint validates its arguments through schemas.py, calls one use case
of the application object ``bootstrap.build`` wires, and dumps the answer.
"""
from guichet_common.messaging import ApplicationProvider, DatabaseProvider
from guichet_common.service import GuichetService

from . import bootstrap
from .models import metadata


class ActivitiesService(GuichetService):
    name = "activities"
    db = DatabaseProvider(metadata)
    app = ApplicationProvider(bootstrap.build)

"""Entrypoints of the activities service (RPC, event and command handlers) and nothing else."""
from guichet_common.messaging import DatabaseProvider
from guichet_common.service import GuichetService

from .models import metadata


class ActivitiesService(GuichetService):
    name = "activities"
    db = DatabaseProvider(metadata)

"""Entrypoints of the demarches service (RPC, event and command handlers) and nothing else."""
from guichet_common.messaging import DatabaseProvider
from guichet_common.service import GuichetService

from .models import metadata


class DemarchesService(GuichetService):
    name = "demarches"
    db = DatabaseProvider(metadata)

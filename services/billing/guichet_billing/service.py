"""Entrypoints of the billing service (RPC, event and command handlers) and nothing else."""
from guichet_common.messaging import DatabaseProvider
from guichet_common.service import GuichetService

from .models import metadata


class BillingService(GuichetService):
    name = "billing"
    db = DatabaseProvider(metadata)

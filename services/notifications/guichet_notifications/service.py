"""Entrypoints of the notifications service (RPC, event and command handlers) and nothing else."""
from guichet_common.messaging import DatabaseProvider
from guichet_common.service import GuichetService

from .models import metadata


class NotificationsService(GuichetService):
    name = "notifications"
    db = DatabaseProvider(metadata)

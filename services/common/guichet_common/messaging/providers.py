"""The dependency providers of every service.

- ``DatabaseProvider``: the service's database, units of work and the embedded outbox relay.
- ``ApplicationProvider``: the service's application object, built once per container from the database by
  the service's bootstrap.
"""
from __future__ import annotations

from typing import Any, Callable

from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

from .. import metrics
from ..db import Database
from ..relay import OutboxRelay

CONFIG_DATABASE_URL = "GUICHET_DATABASE_URL"
CONFIG_POLL_INTERVAL = "GUICHET_OUTBOX_POLL_INTERVAL"
CONFIG_EMBEDDED_RELAY = "GUICHET_EMBEDDED_RELAY"


class DatabaseProvider(DependencyProvider):
    """The service database; starts the embedded outbox relay with the service."""

    def __init__(self, metadata, **kwargs):
        self.metadata = metadata
        self.database: Database | None = None
        self.relay: OutboxRelay | None = None
        super().__init__(**kwargs)

    def setup(self):
        self.open()

    def open(self) -> Database:
        """The database, made on the first call: nameko sets its extensions up in no set order, and an
        ``ApplicationProvider`` needs the database in its own ``setup``."""
        if self.database is not None:
            return self.database
        config = self.container.config
        url = config[CONFIG_DATABASE_URL]
        database = Database(self.container.service_name, url, self.metadata,
                            pool_size=int(config.get("max_workers", 10)))
        self.database = database
        metrics.register_database(database)
        if config.get(CONFIG_EMBEDDED_RELAY, True):
            self.relay = OutboxRelay(database, config[AMQP_URI_CONFIG_KEY],
                                     poll_interval=float(config.get(CONFIG_POLL_INTERVAL, 0.2)))
        return database

    def start(self):
        if self.relay is not None:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
        if self.database is not None:
            self.database.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.database


class ApplicationProvider(DependencyProvider):
    """The service's application object: ``app = ApplicationProvider(bootstrap.build)``.

    ``build(database)`` runs once per container, in ``setup``, with the database
    of the service's ``DatabaseProvider``: it reads and checks the town settings
    and wires the adapters, so a wrong settings file stops the service before it
    takes any message. Every worker gets the same object (it must be safe to
    share between concurrent workers). Optional hooks of the object, run with
    the container: ``start()`` when it starts; ``run()`` in a managed thread
    after that (a background loop: it must catch its own errors, an escaping
    one kills the container); ``stop()`` when it stops or is killed (it makes
    ``run()`` return).
    """

    def __init__(self, build: Callable[[Database], Any], **kwargs):
        self.build = build
        self.application: Any = None
        self._started = False
        super().__init__(**kwargs)

    def _database(self) -> Database:
        providers = [d for d in self.container.dependencies if isinstance(d, DatabaseProvider)]
        if len(providers) != 1:
            raise RuntimeError(f"{self.container.service_name}: an ApplicationProvider needs exactly one "
                               f"DatabaseProvider on the service class, found {len(providers)}")
        return providers[0].open()

    def setup(self):
        self.application = self.build(self._database())

    def start(self):
        self._started = True
        start = getattr(self.application, "start", None)
        if callable(start):
            start()
        run = getattr(self.application, "run", None)
        if callable(run):
            self.container.spawn_managed_thread(run, identifier=f"{self.container.service_name}-application")

    def stop(self):
        # nameko may kill a container it is stopping: the object's stop() runs once.
        started, self._started = self._started, False
        stop = getattr(self.application, "stop", None)
        if started and callable(stop):
            stop()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.application

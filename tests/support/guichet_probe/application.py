"""The application object of the ``probeapp`` test service: what ``ApplicationProvider`` builds, starts,
shares between workers and stops."""
from __future__ import annotations

import os
from pathlib import Path

import eventlet
import sqlalchemy as sa

from guichet_common import town
from guichet_common.db import Database

from .service import notes

BUILDS: list[int] = []  # ids of the objects built in this process


class ProbeApplication:
    def __init__(self, database: Database, town_name: str, tick: float, stop_file: Path):
        self.database = database
        self.town_name = town_name
        self.tick = tick
        self.stop_file = stop_file
        self.started = False
        self.ticks = 0
        self._running = False

    def start(self) -> None:
        self.started = True
        self._running = True

    def run(self) -> None:
        while self._running:
            self.ticks += 1
            eventlet.sleep(self.tick)

    def stop(self) -> None:
        self._running = False
        with self.stop_file.open("a") as file:
            file.write("stopped\n")

    def describe(self) -> dict:
        with self.database.engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(notes)).scalar_one()
        return {"instance": id(self), "builds": len(BUILDS), "started": self.started, "ticks": self.ticks,
                "town": self.town_name, "notes": count}


def build(database: Database) -> ProbeApplication:
    """Reads and checks its settings as a service's bootstrap does: a wrong one stops the service."""
    tick = float(os.environ.get("GUICHET_PROBEAPP_TICK", "0.05"))
    if tick <= 0:
        raise ValueError(f"GUICHET_PROBEAPP_TICK doit être un nombre de secondes positif, reçu {tick}")
    stop_file = Path(os.environ["GUICHET_DATA_DIR"]) / "probeapp-stops.txt"
    application = ProbeApplication(database, town.town_settings()["name"], tick, stop_file)
    BUILDS.append(id(application))
    return application

"""ApplicationProvider: one application object per container, built from the database at setup, shared by
every worker, started and stopped with the service; a setting its build refuses stops the service."""
import time

import pytest
from guichet_probe import PROBE_APP

from guichet_common.testing import wait_for


@pytest.fixture
def start_probeapp(processes, probe_db):
    def start(**env):
        return processes.service(PROBE_APP, "probeapp", probe_db, **env)
    return start


def test_every_worker_gets_the_one_object_built_at_setup(start_probeapp, rpc, tmp_path):
    town = tmp_path / "town.yaml"
    town.write_text("name: Sondeville\ninsee_code: '75056'\n", encoding="utf-8")
    start_probeapp(GUICHET_TOWN_SETTINGS=str(town))
    rpc.call("probeapp", "describe")
    answers = [rpc.call("probeapp", "describe") for _ in range(5)]
    first = answers[0]
    assert {answer["instance"] for answer in answers} == {first["instance"]}
    assert first["builds"] == 1 and first["started"] is True
    assert first["town"] == "Sondeville" and first["notes"] == 0


def test_run_loops_in_a_managed_thread_and_stop_ends_it(start_probeapp, rpc, tmp_path):
    service = start_probeapp(GUICHET_PROBEAPP_TICK="0.02")
    ticks = rpc.call("probeapp", "describe")["ticks"]
    wait_for(lambda: rpc.call("probeapp", "describe")["ticks"] > ticks + 3, timeout=10, message="run() ticking")
    service.stop()
    assert service.popen.returncode == 0
    assert (tmp_path / "probeapp-stops.txt").read_text() == "stopped\n"  # once, though nameko stops then kills


def test_a_setting_the_build_refuses_stops_the_service_with_a_clear_error(processes, probe_db):
    service = processes.service(PROBE_APP, "probeapp", probe_db, wait=False, GUICHET_PROBEAPP_TICK="-1")
    deadline = time.monotonic() + 30
    while service.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service.popen.returncode == 2
    log = service.log()
    assert '"service could not start"' in log
    assert "GUICHET_PROBEAPP_TICK doit être un nombre de secondes positif" in log

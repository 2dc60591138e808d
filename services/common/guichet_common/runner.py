"""Run one service process: nameko container, metrics endpoint, clean shutdown."""
from __future__ import annotations

import os

import eventlet

eventlet.monkey_patch()  # before anything opens a socket
# psycopg's C wait function blocks the whole eventlet hub; its select-based one
# uses the green select and lets other workers run while a query waits.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import logging  # noqa: E402
import signal  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from . import logs, metrics, town  # noqa: E402
from .config import Settings, load_settings  # noqa: E402
from .messaging import (  # noqa: E402
    CONFIG_DATABASE_URL,
    CONFIG_EMBEDDED_RELAY,
    CONFIG_MAX_ATTEMPTS,
    CONFIG_POLL_INTERVAL,
    CONFIG_RETRY_DELAYS,
)
from .registry import load_class  # noqa: E402

log = logging.getLogger(__name__)


def nameko_config(settings: Settings, service: str, *, embedded_relay: bool = True) -> dict:
    return {
        "AMQP_URI": settings.amqp_uri,
        "max_workers": settings.max_workers,
        "parent_calls_tracked": 10,
        "serializer": "json",
        CONFIG_DATABASE_URL: settings.database_url(service),
        CONFIG_MAX_ATTEMPTS: settings.handler_max_attempts,
        CONFIG_RETRY_DELAYS: list(settings.handler_retry_delays),
        CONFIG_POLL_INTERVAL: settings.outbox_poll_interval,
        CONFIG_EMBEDDED_RELAY: embedded_relay,
    }


def _local_health(runner: ServiceRunner, service_cls) -> dict:
    from .messaging import DatabaseProvider
    from .service import health_report

    for container in runner.containers:
        for dependency in container.dependencies:
            if isinstance(dependency, DatabaseProvider) and dependency.database is not None:
                package = service_cls.package() if service_cls.has_migrations else None
                return health_report(service_cls.name, package, dependency.database)
    return {"service": service_cls.name, "status": "starting"}


def run(spec: str, *, embedded_relay: bool = True, metrics_port: int | None = None) -> None:
    settings = load_settings()
    service_cls = load_class(spec)
    logs.configure(service_cls.name, settings.log_level)
    try:
        town.current_town(str(settings.town_settings) if settings.town_settings else None)
    except town.TownSettingsError as error:
        log.error("invalid town settings", extra={"fields": {"error": str(error)}})
        raise SystemExit(2) from None
    port = settings.metrics_port(service_cls.name) if metrics_port is None else metrics_port
    runner = ServiceRunner(nameko_config(settings, service_cls.name, embedded_relay=embedded_relay))
    runner.add_service(service_cls)

    from . import dlq
    metrics.register_dlq_probe(lambda: dlq.depths(settings.amqp_uri, [service_cls.name]))
    metrics.serve(port, settings.metrics_addr, health=lambda: _local_health(runner, service_cls))

    stop = eventlet.event.Event()

    def _on_signal(signum, _frame):
        if not stop.ready():
            stop.send(signum)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        runner.start()
    except Exception as error:  # an extension's setup refused to start (an application's settings, a bad URL)
        log.error("service could not start", exc_info=True,
                  extra={"fields": {"error": logs.scrub(f"{type(error).__name__}: {error}")}})
        runner.kill()
        raise SystemExit(2) from None
    log.info("service started", extra={"fields": {"metrics_port": port}})
    runner_thread = eventlet.spawn(runner.wait)
    waiter = eventlet.spawn(stop.wait)
    # Either a signal (clean stop) or a container crash ends the wait.
    while not stop.ready() and not runner_thread.dead:
        eventlet.sleep(0.2)
    waiter.kill()
    if stop.ready():
        log.info("stopping service")
        with eventlet.Timeout(20, False):
            runner.stop()
        runner.kill()
    else:
        try:
            runner_thread.wait()
        except Exception:
            log.exception("service crashed")
            raise SystemExit(1) from None

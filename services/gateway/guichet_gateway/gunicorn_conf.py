"""gunicorn settings of the gateway: ``gunicorn -c python:guichet_gateway.gunicorn_conf guichet_gateway.wsgi:app``.

Why the ``gthread`` worker class:
- A gateway request mostly waits: for a service's RPC answer over RabbitMQ.
  ``sync`` workers would serve one request per process at a time, so a few
  slow RPCs would queue every other citizen behind them.
- ``eventlet``/``gevent`` need the standard library monkey-patched under
  Flask and the AMQP client. The RPC client (guichet_common.rpc_client) is a
  blocking py-amqp client (opened through kombu) that keeps one AMQP
  connection per OS thread (``threading.local``): patched,
  ``threading.local`` becomes per green thread, so every request would open
  (and leak) its own AMQP connection; unpatched, py-amqp's blocking socket
  waits would freeze the whole worker.
- ``gthread`` runs each request on a real OS thread of a pool: the waits
  release the GIL, so ``workers × threads`` requests wait on services at the
  same time, without patching anything, and each pool thread reuses its own
  AMQP connection from one request to the next.
- A dead or stuck service cannot take every thread: the RPC client's guard
  fails its calls at once and caps them at a share of ``threads``, keeping one
  thread free of RPC for /api/health (guichet_gateway.rpc).

Variables: GUICHET_GATEWAY_BIND (127.0.0.1:8000), GUICHET_GATEWAY_WORKERS (2),
GUICHET_GATEWAY_THREADS (8), GUICHET_LOG_LEVEL, PROMETHEUS_MULTIPROC_DIR
(set it to a private, writable directory to add up the metrics of all workers).
"""
import os
from pathlib import Path

from guichet_gateway.gunicorn_logging import JsonLogger

bind = os.environ.get("GUICHET_GATEWAY_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUICHET_GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GUICHET_GATEWAY_THREADS", "8"))
# Each worker builds its own app and RPC connections after the fork.
preload_app = False
proc_name = "guichet-gateway"

# gunicorn's control socket lives at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl): two
# gateways on one host (tests, make run) would take it from each other, and nothing here uses it.
control_socket_disable = True

# A worker silent this long is killed and replaced (a request itself is bounded by GUICHET_RPC_TIMEOUT).
timeout = 30
graceful_timeout = 30
keepalive = 5

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUICHET_LOG_LEVEL", "INFO").lower()
logger_class = JsonLogger

_MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    # Files left by a previous run would be added to this run's counters.
    if _MULTIPROCESS_DIR:
        directory = Path(_MULTIPROCESS_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if _MULTIPROCESS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

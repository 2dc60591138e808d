"""A fast, thread-safe RPC client for nameko services, without nameko.

Each thread keeps one AMQP connection and channel open (no per-call setup)
and receives replies on RabbitMQ's direct reply-to pseudo-queue, so there is
no reply queue to declare and no publisher confirm to wait for. Every call
has a deadline: the request carries it as a per-message TTL so a service
never executes a request its caller gave up on, and the caller gets
``ServiceUnavailable`` (no service consuming, broker down) or
``ServiceTimeout`` (service busy or stuck) in time. With a ``ServiceGuard``
(the gateway's), a call to a service that has no consumer, keeps timing out
or already holds its share of the threads fails at once (rpc_guard.py).
"""
from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time
import uuid

import amqp
from amqp.exceptions import AMQPError, NotFound
from kombu import Connection as KombuConnection

from . import context
from .auth import Caller
from .errors import GuichetError, InternalError, ServiceTimeout, ServiceUnavailable
from .rpc_guard import ServiceDown, ServiceGuard

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
_RETURNED = object()


class RemoteError(Exception):
    """A service failed in an unexpected way (its details stay in its logs)."""

    def __init__(self, exc_type: str, value: str):
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value


class RemoteProblem(GuichetError):
    """A service refused the call with a problem (validation, not found, forbidden...)."""

    def __init__(self, problem: dict):
        self.payload = problem
        super().__init__(problem.get("detail"), status=problem.get("status"), title=problem.get("title"))

    def problem(self) -> dict:
        return dict(self.payload)


class _ThreadChannel:
    """One thread's AMQP connection (py-amqp: about a third less CPU per call than pika)."""

    def __init__(self, amqp_uri: str, name: str):
        self._kombu = KombuConnection(amqp_uri, heartbeat=0, connect_timeout=5,
                                      transport_options={"client_properties": {"connection_name": name}})
        self._kombu.connect()
        self.connection = self._kombu.connection  # the py-amqp connection underneath
        self.channel = self.connection.channel()
        self.replies: dict[str, object] = {}  # the reply body (bytes), or _RETURNED
        self.pending: set[str] = set()
        self.channel.basic_consume(DIRECT_REPLY_TO, no_ack=True, callback=self._on_reply)
        self.channel.events["basic_return"].add(self._on_return)
        self.channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
        # Passive declares go on a channel of their own: the broker closes the channel that asks about a
        # missing queue, and the replies channel must stay open.
        self._probe_channel = None

    def _on_reply(self, message):
        correlation = message.properties.get("correlation_id")
        if correlation in self.pending:
            self.replies[correlation] = message.body

    def _on_return(self, _exc, _exchange, _routing_key, message):
        correlation = message.properties.get("correlation_id")
        if correlation in self.pending:
            self.replies[correlation] = _RETURNED

    def check_open(self) -> None:
        """Raise if the broker closed this connection (restart) before we publish on it."""
        if select.select([self.connection.sock], [], [], 0)[0]:
            self.wait(0.001)  # a late reply, or EOF which raises

    def consumer_count(self, queue: str) -> int:
        """How many consumers ``queue`` has; 0 when it does not exist."""
        probe = self._probe_channel
        if probe is None or not probe.is_open:
            probe = self._probe_channel = self.connection.channel()
        try:
            return probe.queue_declare(queue, passive=True)[2]
        except NotFound:
            self._probe_channel = None
            return 0

    def wait(self, timeout: float) -> None:
        try:
            self.connection.drain_events(timeout=timeout)
        except socket.timeout:
            pass

    def publish(self, body: bytes, routing_key: str, properties: dict) -> None:
        message = amqp.Message(body, **properties)
        self.channel.basic_publish(message, exchange=RPC_EXCHANGE, routing_key=routing_key, mandatory=True)

    def close(self):
        try:
            self._kombu.release()
        except Exception:
            pass


class RpcClient:
    BACKOFF_START = 0.25
    BACKOFF_MAX = 2.0
    UNREACHABLE = "Le service est momentanément indisponible (messagerie interne injoignable)."

    def __init__(self, amqp_uri: str, *, timeout: float = 5.0, name: str = "guichet-rpc-client",
                 guard: ServiceGuard | None = None):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.name = name
        self.guard = guard
        self._local = threading.local()
        # Shared by the threads: while the broker is unreachable, one connection attempt per backoff interval
        # (0.25 s doubling to 2 s); the other calls answer ServiceUnavailable at once instead of each
        # waiting on a connect. One warning when the broker goes, one line when it is back.
        self._outage_lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = self.BACKOFF_START

    def _channel(self) -> _ThreadChannel:
        current = getattr(self._local, "channel", None)
        if current is not None:
            try:
                current.check_open()
                return current
            except (AMQPError, OSError):
                current.close()
                self._local.channel = None
        if time.monotonic() < self._retry_at:
            raise self._unreachable()
        try:
            current = _ThreadChannel(self.amqp_uri, self.name)
        except (AMQPError, OSError) as error:
            self._local.channel = None
            self._connect_failed(error)
            raise self._unreachable() from error
        self._local.channel = current
        self._connected()
        return current

    def _unreachable(self) -> ServiceUnavailable:
        return ServiceUnavailable(self.UNREACHABLE, retry_after=max(1, round(self._backoff)))

    def _connect_failed(self, error: BaseException) -> None:
        with self._outage_lock:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                log.warning("message broker unreachable, reconnecting with backoff",
                            extra={"fields": {"error": type(error).__name__}})
            else:
                self._backoff = min(self._backoff * 2, self.BACKOFF_MAX)
            self._retry_at = now + self._backoff

    def _connected(self) -> None:
        if self._down_since is None:
            return
        with self._outage_lock:
            if self._down_since is not None:
                log.warning("message broker reachable again",
                            extra={"fields": {"down_seconds": round(time.monotonic() - self._down_since, 1)}})
            self._down_since, self._retry_at, self._backoff = None, 0.0, self.BACKOFF_START

    def _reset(self):
        current = getattr(self._local, "channel", None)
        if current is not None:
            current.close()
        self._local.channel = None

    def call(self, service: str, method: str, *args, kwargs: dict | None = None, caller: Caller | None = None,
             timeout: float | None = None):
        if self.guard is None:
            return self._call(service, method, args, kwargs, caller, timeout)
        with self.guard.admit(service, lambda: self.consumer_count(service)):
            return self._call(service, method, args, kwargs, caller, timeout)

    def consumer_count(self, service: str) -> int | None:
        """Consumers of ``service``'s RPC queue (0: none, or no queue); None when the broker cannot tell."""
        channel = self._channel()
        try:
            return channel.consumer_count(f"rpc-{service}")
        except (AMQPError, OSError):
            self._reset()
            return None

    def _call(self, service: str, method: str, args: tuple, kwargs: dict | None, caller: Caller | None,
              timeout: float | None):
        timeout = self.timeout if timeout is None else timeout
        correlation = uuid.uuid4().hex
        body = json.dumps({"args": list(args), "kwargs": kwargs or {}}, ensure_ascii=False).encode()
        headers = {"nameko.correlation_id": context.correlation_id.get() or correlation,
                   "nameko.call_id_stack": [f"gateway.{service}.{method}.{correlation}"]}
        if caller is not None:
            headers["nameko.caller"] = caller.to_header()
        properties = {"reply_to": DIRECT_REPLY_TO, "correlation_id": correlation,
                      "content_type": "application/json", "content_encoding": "utf-8",
                      "application_headers": headers, "delivery_mode": 1,
                      "expiration": str(max(1, int(timeout * 1000)))}
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            channel = self._channel()
            channel.pending.add(correlation)
            try:
                channel.publish(body, f"{service}.{method}", properties)
                break
            except (AMQPError, OSError) as error:
                channel.pending.discard(correlation)
                self._reset()
                if attempt == 2:
                    raise ServiceUnavailable() from error
        try:
            while correlation not in channel.replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(channel, service)
                channel.wait(remaining)
            reply = channel.replies.pop(correlation)
        except (AMQPError, OSError) as error:
            self._reset()
            raise ServiceUnavailable() from error
        finally:
            channel.pending.discard(correlation)
            channel.replies.pop(correlation, None)
        if not isinstance(reply, (bytes, str)):  # _RETURNED: the broker had no queue to route the call to
            raise ServiceDown()
        return self._result(json.loads(reply))

    def _timeout_error(self, channel: _ThreadChannel, service: str) -> GuichetError:
        try:
            if channel.consumer_count(f"rpc-{service}") == 0:
                return ServiceDown()
        except (AMQPError, OSError):
            self._reset()
            return ServiceUnavailable()
        return ServiceTimeout()

    @staticmethod
    def _result(payload: dict):
        error = payload.get("error")
        if error:
            if error.get("problem"):
                raise RemoteProblem(error["problem"])
            if error.get("exc_type") in ("MethodNotFound", "IncorrectSignature", "MalformedRequest"):
                raise InternalError()
            raise RemoteError(error.get("exc_type", "Exception"), error.get("value", ""))
        return payload.get("result")

    def ping(self) -> None:
        """Raise ServiceUnavailable unless this thread's broker connection is open or can be opened."""
        self._channel()

    def close(self):
        self._reset()

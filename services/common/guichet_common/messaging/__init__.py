"""nameko entrypoints and dependencies of every Guichet service.

- ``rpc``: nameko RPC whose replies go straight to the caller's direct
  reply-to pseudo-queue, without publisher confirms (a lost reply is a
  timeout the caller handles), and carry Guichet problems to the gateway.
- ``event_handler`` / ``command_handler``: consumers of CloudEvents with
  retries and a dead-letter queue instead of nameko's ack-and-drop.
- ``Chassis``: correlation ids, caller identity, metrics for every worker.
- ``DatabaseProvider``: the service's database, units of work and the
  embedded outbox relay.
- ``ApplicationProvider``: the service's application object, built once per
  container from the database by the service's bootstrap.
"""
from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import threading
import time
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable

from amqp.exceptions import AMQPError
from kombu import Connection as KombuConnection
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.serialization import register as register_serializer
from nameko.amqp.publish import get_connection, get_producer
from nameko.constants import AMQP_URI_CONFIG_KEY, DEFAULT_RETRY_POLICY
from nameko.exceptions import (
    ContainerBeingKilled,
    IncorrectSignature,
    MalformedRequest,
    MethodNotFound,
    UnserializableValueError,
    serialize,
)
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer, QueueConsumer
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from nameko.timer import Timer

from guichet_contracts import envelope as envelopes
from guichet_contracts import registry
from guichet_contracts.registry import TYPE_PATTERN

from . import context, metrics
from .auth import Caller
from .db import Database
from .errors import GuichetError, PermanentMessageError
from .logs import scrub
from .relay import OutboxRelay

log = logging.getLogger(__name__)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
CONFIG_MAX_ATTEMPTS = "GUICHET_HANDLER_MAX_ATTEMPTS"
CONFIG_RETRY_DELAYS = "GUICHET_HANDLER_RETRY_DELAYS"
CONFIG_DATABASE_URL = "GUICHET_DATABASE_URL"
CONFIG_POLL_INTERVAL = "GUICHET_OUTBOX_POLL_INTERVAL"
CONFIG_EMBEDDED_RELAY = "GUICHET_EMBEDDED_RELAY"

# Errors about the request itself: answered as such, not logged as crashes.
_CALLER_ERRORS = (GuichetError, MethodNotFound, IncorrectSignature, MalformedRequest)


def dlq_name(service: str) -> str:
    return f"guichet.{service}.dlq"


# --- decoding -----------------------------------------------------------------

class _Undecodable(bytes):
    """Body of a message that is not valid JSON: handed to the handler layer to dead-letter."""


def _decode_cloudevent(data):
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return _Undecodable(data if isinstance(data, bytes) else str(data).encode())


# CloudEvents structured mode is JSON under its own content type.
register_serializer("cloudevents", json.dumps, _decode_cloudevent, content_type=envelopes.CONTENT_TYPE,
                    content_encoding="utf-8")
ACCEPTED_CONTENT = ["json", "cloudevents"]


# What a lost broker connection raises from py-amqp/kombu: the socket's errors, py-amqp's connection errors,
# kombu's wrapper around both.
BROKER_ERRORS = (OSError, AMQPError, KombuOperationalError)


class GuichetQueueConsumer(QueueConsumer):
    """nameko's consumer, except that a message it cannot decode is dead-lettered, not acked away, and that
    an ack or requeue on a connection the broker dropped is skipped instead of killing the container.

    kombu's consumer loop reconnects by itself, forever, with nameko's backoff (2, 3, 4, 5, 5... s); the
    broker gives unacked messages back on its own, so there is nothing to ack once the connection is gone.
    """

    @property
    def accept(self):
        return ACCEPTED_CONTENT

    # kombu's own backoff grows to 30 s between attempts: after a long outage the service would stay deaf
    # for up to 30 s once the broker is back. 1, 2, 3, 3... s instead.
    RECONNECT_INTERVAL_START = 1.0
    RECONNECT_INTERVAL_STEP = 1.0
    RECONNECT_INTERVAL_MAX = 3.0
    _down_since: float | None = None

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                         interval_start=self.RECONNECT_INTERVAL_START,
                                         interval_step=self.RECONNECT_INTERVAL_STEP,
                                         interval_max=self.RECONNECT_INTERVAL_MAX)
            yield connection

    def on_connection_error(self, exc, interval):
        # One line per outage, not one per attempt.
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("broker unreachable, consumers reconnecting with backoff",
                        extra={"fields": {"error": type(exc).__name__, "retry_in": interval}})

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        if self._down_since is not None:
            log.warning("broker reachable again, consumers resumed",
                        extra={"fields": {"down_seconds": round(time.monotonic() - self._down_since, 1)}})
            self._down_since = None
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def ack_message(self, message):
        self._settle(message, "ack")

    def requeue_message(self, message):
        self._settle(message, "requeue")

    def _settle(self, message, action: str) -> None:
        if not message.channel.connection:
            return  # the connection is gone: the broker has reclaimed the message already
        try:
            getattr(message, action)()
        except BROKER_ERRORS as error:
            log.warning("broker connection lost before a message was settled; the broker redelivers it",
                        extra={"fields": {"action": action, "error": type(error).__name__}})

    def on_decode_error(self, message, exc):
        tag = (message.delivery_info or {}).get("consumer_tag")
        for provider, consumer in list(self._consumers.items()):
            if tag in getattr(consumer, "_active_tags", {}).values() and isinstance(provider, MessageHandler):
                attempts = int((message.headers or {}).get("x-guichet-attempts", 0)) + 1
                provider._dispose(message, PermanentMessageError(f"undecodable message: {type(exc).__name__}"),
                                  attempts)
                return
        # Not one of ours (an RPC request): refuse it without logging its body, which may hold personal data.
        log.error("undecodable message refused", extra={"fields": {"content_type": message.content_type,
                                                                   "error": type(exc).__name__}})
        message.reject(requeue=False)


# --- RPC ----------------------------------------------------------------------

def rpc_error_payload(exc: BaseException) -> dict:
    error = serialize(exc)
    if isinstance(exc, GuichetError):
        error["problem"] = exc.problem()
    elif not isinstance(exc, _CALLER_ERRORS):
        # The text of an unexpected exception may hold personal data: keep it in the service.
        error["exc_args"] = []
        error["value"] = "internal error"
    return error


class _ReplyPublisher:
    """Publishes RPC replies on one long-lived channel of its own.

    kombu's pooled producer with retry wrappers cost about half of a small
    RPC's service time; a reply is a single transient publish, so it goes
    straight to the channel. Green threads share the channel under a lock
    (a frame sequence must not interleave); a broken connection is reopened
    and the reply tried once more.

    A reply that cannot be sent (the broker is down) is dropped: the caller
    times out, which it handles, and the service lives on. While the broker
    stays unreachable, reconnection is tried at most once per backoff interval
    (0.5 s doubling to 5 s), so replies due during an outage are dropped at
    once instead of each waiting on a connect. One warning when replies start
    being dropped, one line when they go through again.
    """

    BACKOFF_START = 0.5
    BACKOFF_MAX = 5.0

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._connection: KombuConnection | None = None
        self._channel: Any = None  # the kombu connection's channel (py-amqp's, untyped)
        self._lock = threading.Lock()
        self._backoff = self.BACKOFF_START
        self._retry_at = 0.0  # monotonic time before which no reconnection is tried
        self._dropped = 0  # replies dropped since the broker was last reachable
        self._down_since: float | None = None

    def _open(self):
        if self._channel is None:
            if time.monotonic() < self._retry_at:
                raise ConnectionError("broker unreachable, reconnection backing off")
            connection = KombuConnection(self.amqp_uri, heartbeat=0, connect_timeout=5)
            try:
                channel = connection.channel()
            except BaseException:
                connection.release()
                raise
            self._connection, self._channel = connection, channel
        return self._channel

    def _discard(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already broken
                pass

    def publish(self, body: bytes, exchange: str, routing_key: str, correlation_id: str | None) -> bool:
        """Send one reply; False if it was dropped because the broker cannot be reached."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._open()
                    message = channel.prepare_message(body, 0, "application/json", "utf-8", {},
                                                      {"correlation_id": correlation_id, "delivery_mode": 1})
                    channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
                except BROKER_ERRORS as error:
                    self._discard()
                    if attempt == 2 or self._down_since is not None:
                        self._dropped_reply(error)
                        return False
                    continue
                self._recovered()
                return True
            return False

    def _dropped_reply(self, error: BaseException) -> None:
        now = time.monotonic()
        self._dropped += 1
        if now < self._retry_at:
            return  # dropped without trying: still backing off
        if self._down_since is None:
            self._down_since = now
            log.warning("broker unreachable: RPC replies are dropped until it is back (callers time out)",
                        extra={"fields": {"error": type(error).__name__}})
        else:  # a reconnection was tried and failed: wait longer before the next one
            self._backoff = min(self._backoff * 2, self.BACKOFF_MAX)
        self._retry_at = now + self._backoff

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("broker reachable again: RPC replies flow", extra={"fields": {
                "dropped_replies": self._dropped, "down_seconds": round(time.monotonic() - self._down_since, 1)}})
        self._down_since, self._dropped, self._backoff, self._retry_at = None, 0, self.BACKOFF_START, 0.0

    def close(self):
        with self._lock:
            self._discard()


class GuichetRpcConsumer(RpcConsumer):
    queue_consumer = GuichetQueueConsumer()

    def setup(self):
        super().setup()
        self.replies = _ReplyPublisher(self.container.config[AMQP_URI_CONFIG_KEY])

    def stop(self):
        super().stop()
        self.replies.close()

    def handle_result(self, message, result, exc_info):
        error = None
        if exc_info is not None:
            error = rpc_error_payload(exc_info[1])
        try:
            body = json.dumps({"result": result, "error": error}, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError):
            exc_info = (UnserializableValueError, UnserializableValueError(result), None)
            body = json.dumps({"result": None, "error": serialize(exc_info[1])})
            result = None
        reply_to = message.properties.get("reply_to")
        if reply_to:
            exchange = "" if reply_to.startswith(DIRECT_REPLY_TO) else get_rpc_exchange(self.container.config).name
            # False when the broker is down: the reply is dropped (logged once per outage), the caller times out.
            self.replies.publish(body.encode(), exchange, reply_to, message.properties.get("correlation_id"))
        self.queue_consumer.ack_message(message)
        return result, exc_info


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class GuichetRpc(Rpc):
    rpc_consumer = GuichetRpcConsumer()

    def setup(self):
        super().setup()
        # nameko's check rebuilds the method's signature with inspect.getcallargs on every call
        # (~20 us); the signature is fixed, so it is read once.
        self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name))

    def check_signature(self, args, kwargs):
        try:
            self._signature.bind(None, *args, **kwargs)  # None stands for self: the method is unbound
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None


rpc = GuichetRpc.decorator


# --- events and commands ------------------------------------------------------

class MessageHandler(Consumer):
    """Consume CloudEvents from ``exchange`` with ``routing_key``; retry, then dead-letter.

    On failure the message is republished (with confirms) to a retry queue
    whose TTL dead-letters it back to the handler queue, then acked. After
    the last attempt it goes to the service's dead-letter queue with the
    reason; ``guichet dlq`` inspects and replays it.
    """

    queue_consumer = GuichetQueueConsumer()

    def __init__(self, exchange: str, routing_key: str, **kwargs):
        self.exchange_name = exchange
        self.routing_key = routing_key
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        service = self.container.service_name
        config = self.container.config
        self.queue_name = f"guichet.{service}.{self.method_name}"
        self.max_attempts = int(config.get(CONFIG_MAX_ATTEMPTS, 5))
        self.retry_delays = [float(d) for d in config.get(CONFIG_RETRY_DELAYS, (1, 5, 30, 120))]
        exchange = Exchange(self.exchange_name, type="topic", durable=True, auto_delete=False)
        self.queue = Queue(self.queue_name, exchange=exchange, routing_key=self.routing_key, durable=True)
        self.retry_queues = [
            Queue(f"{self.queue_name}.retry.{index}", durable=True, queue_arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue_name,
            }) for index, delay in enumerate(self.retry_delays)
        ]
        self.dead_letter_queue = Queue(dlq_name(service), durable=True)
        with get_connection(config[AMQP_URI_CONFIG_KEY]) as connection:
            channel = connection.channel()
            try:
                for queue in [*self.retry_queues, self.dead_letter_queue]:
                    queue.bind(channel).declare()
            finally:
                channel.close()
        super().setup()

    def handle_message(self, body, message):
        attempts = int((message.headers or {}).get("x-guichet-attempts", 0))
        try:
            if isinstance(body, _Undecodable):
                raise envelopes.InvalidEnvelope("message body is not JSON")
            envelope = envelopes.check_envelope(body)
            try:
                contract = registry.get(envelope["type"])
            except registry.UnknownMessageType:
                contract = None  # a type we do not know yet: the handler decides
            if contract is not None:
                contract.load(envelope["data"])
        except (envelopes.InvalidEnvelope, registry.InvalidPayload) as error:
            self._dispose(message, PermanentMessageError(str(error)), attempts + 1)
            return
        context_data = self.unpack_message_headers(message)
        context_data.update(correlation_id=envelope.get("correlationid"), causation_id=envelope["id"],
                            message_id=envelope["id"], message_attempt=attempts + 1)
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (envelope,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            metrics.HANDLER_OUTCOMES.labels(self.container.service_name, self.method_name, "success").inc()
            self.queue_consumer.ack_message(message)
        else:
            attempts = int((message.headers or {}).get("x-guichet-attempts", 0)) + 1
            self._dispose(message, exc_info[1], attempts)
        return result, exc_info

    def _dispose(self, message, error: BaseException, attempts: int) -> None:
        """Send a failed message to a retry queue or the dead-letter queue, then ack it."""
        permanent = isinstance(error, PermanentMessageError)
        dead = permanent or attempts >= self.max_attempts
        reason = scrub(f"{type(error).__name__}: {error}")[:500]
        headers = dict(message.headers or {})
        headers.update({"x-guichet-attempts": attempts, "x-guichet-queue": self.queue_name,
                        "x-guichet-error": reason})
        if dead:
            headers.update({"x-guichet-failed-at": dt.datetime.now(dt.timezone.utc).isoformat(),
                            "x-guichet-exchange": self.exchange_name, "x-guichet-routing-key": self.routing_key})
            target = self.dead_letter_queue.name
        else:
            target = self.retry_queues[min(attempts - 1, len(self.retry_queues) - 1)].name
        props = message.properties
        try:
            with get_producer(self.container.config[AMQP_URI_CONFIG_KEY], confirms=True) as producer:
                producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                                 content_type=message.content_type, content_encoding=message.content_encoding,
                                 message_id=props.get("message_id"), correlation_id=props.get("correlation_id"),
                                 type=props.get("type"), delivery_mode=2, retry=True,
                                 retry_policy=DEFAULT_RETRY_POLICY)
        except BROKER_ERRORS as error:
            # The broker is down (kombu retried already): the message goes back to its queue, or the broker
            # gives it back on its own if the consumer's connection is gone too.
            log.warning("could not park a failed message, broker unreachable; returning it to its queue",
                        extra={"fields": {"handler": self.method_name, "error": type(error).__name__,
                                          "message_id": props.get("message_id")}})
            self.queue_consumer.requeue_message(message)
            return
        except Exception:
            log.exception("could not park a failed message; returning it to its queue")
            self.queue_consumer.requeue_message(message)
            return
        outcome = "dead_letter" if dead else "retry"
        metrics.HANDLER_OUTCOMES.labels(self.container.service_name, self.method_name, outcome).inc()
        log.warning("message handler failed", extra={"fields": {
            "handler": self.method_name, "attempt": attempts, "outcome": outcome, "reason": reason,
            "message_id": props.get("message_id")}})
        self.queue_consumer.ack_message(message)


def event_handler(source_service: str, event_type: str):
    """Handle ``event_type`` events published by ``source_service``."""
    return MessageHandler.decorator(f"{source_service}.events", event_type)


def command_handler(command_type: str):
    """Handle commands sent to this service (the type names the receiver)."""
    match = TYPE_PATTERN.match(command_type)
    if not match:
        raise ValueError(f"bad command type {command_type!r}")
    return MessageHandler.decorator(f"{match['service']}.commands", command_type)


# --- worker context -----------------------------------------------------------

def _entrypoint_kind(entrypoint) -> str:
    if isinstance(entrypoint, GuichetRpc):
        return "rpc"
    return "timer" if isinstance(entrypoint, Timer) else "message"


class Chassis(DependencyProvider):
    """Binds correlation ids for logs and outbox, times workers, exposes the caller."""

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        context.correlation_id.set(data.get("correlation_id") or worker_ctx.call_id)
        context.causation_id.set(data.get("causation_id") or data.get("request_id"))
        worker_ctx.guichet_started = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = getattr(worker_ctx, "guichet_started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        entrypoint = worker_ctx.entrypoint
        name = entrypoint.method_name
        if exc_info is None:
            outcome = "ok"
        else:
            outcome = "refused" if isinstance(exc_info[1], _CALLER_ERRORS) else "error"
        if isinstance(entrypoint, GuichetRpc):
            metrics.RPC_LATENCY.labels(self.container.service_name, name, outcome).observe(elapsed)
        # One line per worker, like an access log: ids and timings only, never arguments.
        fields = {"entrypoint": name, "kind": _entrypoint_kind(entrypoint),
                  "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)}
        if worker_ctx.data.get("message_id"):
            fields["message_id"] = worker_ctx.data["message_id"]
        if outcome == "error":
            log.error("worker failed", exc_info=exc_info, extra={"fields": fields})
        else:
            log.info("worker done", extra={"fields": fields})

    def get_dependency(self, worker_ctx):
        return Caller.from_header(worker_ctx.data.get("caller"))


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

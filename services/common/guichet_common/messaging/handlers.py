"""``event_handler`` / ``command_handler``: consumers of CloudEvents with retries and a dead-letter queue
instead of nameko's ack-and-drop."""
from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from kombu import Exchange, Queue
from nameko.amqp.publish import get_connection, get_producer
from nameko.constants import AMQP_URI_CONFIG_KEY, DEFAULT_RETRY_POLICY
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from guichet_contracts import envelope as envelopes
from guichet_contracts import registry
from guichet_contracts.registry import TYPE_PATTERN

from .. import metrics
from ..errors import PermanentMessageError
from ..logs import scrub
from .consumer import BROKER_ERRORS, GuichetQueueConsumer, Undecodable

log = logging.getLogger(__name__)

CONFIG_MAX_ATTEMPTS = "GUICHET_HANDLER_MAX_ATTEMPTS"
CONFIG_RETRY_DELAYS = "GUICHET_HANDLER_RETRY_DELAYS"


def dlq_name(service: str) -> str:
    return f"guichet.{service}.dlq"


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
            if isinstance(body, Undecodable):
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

"""The queue consumer shared by every entrypoint: CloudEvents decoding, dead-lettering of undecodable
messages, and settling that survives a broker outage."""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.serialization import register as register_serializer
from nameko.messaging import QueueConsumer

from guichet_contracts import envelope as envelopes

from ..errors import PermanentMessageError

log = logging.getLogger(__name__)


class Undecodable(bytes):
    """Body of a message that is not valid JSON: handed to the handler layer to dead-letter."""


def _decode_cloudevent(data):
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return Undecodable(data if isinstance(data, bytes) else str(data).encode())


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
        from .handlers import MessageHandler  # handlers are built on this consumer: imported when needed

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

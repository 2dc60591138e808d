"""RPC replies published on one long-lived channel, dropped (not retried forever) while the broker is down."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kombu import Connection as KombuConnection

from .consumer import BROKER_ERRORS

log = logging.getLogger(__name__)


class ReplyPublisher:
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

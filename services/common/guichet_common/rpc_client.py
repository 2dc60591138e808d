"""A fast, thread-safe RPC client for nameko services, without nameko.

Each thread keeps one AMQP connection and channel open (no per-call setup)
and receives replies on RabbitMQ's direct reply-to pseudo-queue, so there is
no reply queue to declare and no publisher confirm to wait for. Every call
has a deadline: the request carries it as a per-message TTL so a service
never executes a request its caller gave up on, and the caller gets
``ServiceUnavailable`` (no service consuming, broker down) or
``ServiceTimeout`` (service busy or stuck) in time.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import pika
import pika.exceptions

from . import amqp, context
from .auth import Caller
from .errors import GuichetError, InternalError, ServiceTimeout, ServiceUnavailable

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
    def __init__(self, amqp_uri: str, name: str):
        self.connection = amqp.connect(amqp_uri, heartbeat=0, name=name)
        self.channel = self.connection.channel()
        self.replies: dict[str, object] = {}
        self.pending: set[str] = set()
        self.channel.basic_consume(DIRECT_REPLY_TO, self._on_reply, auto_ack=True)
        self.channel.add_on_return_callback(self._on_return)
        self.channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True)

    def _on_reply(self, _channel, _method, properties, body):
        if properties.correlation_id in self.pending:
            self.replies[properties.correlation_id] = body

    def _on_return(self, _channel, _method, properties, _body):
        if properties.correlation_id in self.pending:
            self.replies[properties.correlation_id] = _RETURNED

    def close(self):
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception:
            pass


class RpcClient:
    def __init__(self, amqp_uri: str, *, timeout: float = 5.0, name: str = "guichet-rpc-client"):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.name = name
        self._local = threading.local()

    def _channel(self) -> _ThreadChannel:
        current = getattr(self._local, "channel", None)
        if current is not None:
            try:
                # Notices a connection the broker closed (restart) before we publish on it.
                current.connection.process_data_events(0)
                return current
            except pika.exceptions.AMQPError:
                current.close()
        try:
            current = _ThreadChannel(self.amqp_uri, self.name)
        except (pika.exceptions.AMQPError, OSError) as error:
            self._local.channel = None
            log.warning("message broker unreachable", extra={"fields": {"error": type(error).__name__}})
            raise ServiceUnavailable("Le service est momentanément indisponible (messagerie interne injoignable).") \
                from error
        self._local.channel = current
        return current

    def _reset(self):
        current = getattr(self._local, "channel", None)
        if current is not None:
            current.close()
        self._local.channel = None

    def call(self, service: str, method: str, *args, kwargs: dict | None = None, caller: Caller | None = None,
             timeout: float | None = None):
        timeout = self.timeout if timeout is None else timeout
        correlation = uuid.uuid4().hex
        body = json.dumps({"args": list(args), "kwargs": kwargs or {}}, ensure_ascii=False).encode()
        headers = {"nameko.correlation_id": context.correlation_id.get() or correlation,
                   "nameko.call_id_stack": [f"gateway.{service}.{method}.{correlation}"]}
        if caller is not None:
            headers["nameko.caller"] = caller.to_header()
        properties = pika.BasicProperties(
            reply_to=DIRECT_REPLY_TO, correlation_id=correlation, content_type="application/json",
            content_encoding="utf-8", headers=headers, delivery_mode=1,
            expiration=str(max(1, int(timeout * 1000))))
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            channel = self._channel()
            channel.pending.add(correlation)
            try:
                channel.channel.basic_publish(RPC_EXCHANGE, f"{service}.{method}", body, properties, mandatory=True)
                break
            except (pika.exceptions.AMQPError, OSError) as error:
                channel.pending.discard(correlation)
                self._reset()
                if attempt == 2:
                    raise ServiceUnavailable() from error
        try:
            while correlation not in channel.replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(channel, service)
                channel.connection.process_data_events(time_limit=remaining)
            reply = channel.replies.pop(correlation)
        except (pika.exceptions.AMQPError, OSError) as error:
            self._reset()
            raise ServiceUnavailable() from error
        finally:
            channel.pending.discard(correlation)
            channel.replies.pop(correlation, None)
        if reply is _RETURNED:
            raise ServiceUnavailable()
        return self._result(json.loads(reply))

    def _timeout_error(self, channel: _ThreadChannel, service: str) -> GuichetError:
        try:
            declared = channel.channel.queue_declare(f"rpc-{service}", passive=True)
            if declared.method.consumer_count == 0:
                return ServiceUnavailable()
        except (pika.exceptions.AMQPError, OSError):
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

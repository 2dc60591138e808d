"""The ``rpc`` entrypoint: replies go straight to the caller's direct reply-to pseudo-queue, without publisher
confirms (a lost reply is a timeout the caller handles), and carry Guichet problems to the gateway."""
from __future__ import annotations

import datetime as dt
import inspect
import json

from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import (
    IncorrectSignature,
    MalformedRequest,
    MethodNotFound,
    UnserializableValueError,
    serialize,
)
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from ..errors import GuichetError
from ..rpc_client import DIRECT_REPLY_TO
from .consumer import GuichetQueueConsumer
from .replies import ReplyPublisher

# Errors about the request itself: answered as such, not logged as crashes.
CALLER_ERRORS = (GuichetError, MethodNotFound, IncorrectSignature, MalformedRequest)


def rpc_error_payload(exc: BaseException) -> dict:
    error = serialize(exc)
    if isinstance(exc, GuichetError):
        error["problem"] = exc.problem()
    elif not isinstance(exc, CALLER_ERRORS):
        # The text of an unexpected exception may hold personal data: keep it in the service.
        error["exc_args"] = []
        error["value"] = "internal error"
    return error


class GuichetRpcConsumer(RpcConsumer):
    queue_consumer = GuichetQueueConsumer()

    def setup(self):
        super().setup()
        self.replies = ReplyPublisher(self.container.config[AMQP_URI_CONFIG_KEY])

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

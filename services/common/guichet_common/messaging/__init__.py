"""nameko entrypoints and dependencies of every Guichet service.

- ``rpc`` (rpc_entrypoint, replies): nameko RPC whose replies go straight to the caller's direct
  reply-to pseudo-queue, without publisher confirms (a lost reply is a timeout the caller handles), and
  carry Guichet problems to the gateway.
- ``event_handler`` / ``command_handler`` (handlers): consumers of CloudEvents with retries and a
  dead-letter queue instead of nameko's ack-and-drop.
- ``GuichetQueueConsumer`` (consumer): the consumer under both, which dead-letters what it cannot decode
  and lives through broker outages.
- ``Chassis`` (chassis): correlation ids, caller identity, metrics for every worker.
- ``DatabaseProvider`` (providers): the service's database, units of work and the embedded outbox relay.
- ``ApplicationProvider`` (providers): the service's application object, built once per container from
  the database by the service's bootstrap.
"""
from .chassis import Chassis
from .consumer import ACCEPTED_CONTENT, BROKER_ERRORS, GuichetQueueConsumer
from .handlers import CONFIG_MAX_ATTEMPTS, CONFIG_RETRY_DELAYS, MessageHandler, command_handler, dlq_name, event_handler
from .providers import (
    CONFIG_DATABASE_URL,
    CONFIG_EMBEDDED_RELAY,
    CONFIG_POLL_INTERVAL,
    ApplicationProvider,
    DatabaseProvider,
)
from .replies import ReplyPublisher
from .rpc_entrypoint import DIRECT_REPLY_TO, GuichetRpc, GuichetRpcConsumer, rpc, rpc_error_payload

__all__ = [
    "ACCEPTED_CONTENT", "BROKER_ERRORS", "CONFIG_DATABASE_URL", "CONFIG_EMBEDDED_RELAY", "CONFIG_MAX_ATTEMPTS",
    "CONFIG_POLL_INTERVAL", "CONFIG_RETRY_DELAYS", "DIRECT_REPLY_TO", "ApplicationProvider", "Chassis",
    "DatabaseProvider", "GuichetQueueConsumer", "GuichetRpc", "GuichetRpcConsumer", "MessageHandler",
    "ReplyPublisher", "command_handler", "dlq_name", "event_handler", "rpc", "rpc_error_payload",
]

"""Small helpers around pika connections shared by the relay, the RPC client and the CLI."""
from __future__ import annotations

import logging

import pika

# pika logs every failed connection attempt at ERROR, several lines each; the relay, the CLI and the tests
# report a lost broker themselves, once per outage.
logging.getLogger("pika.adapters").setLevel(logging.CRITICAL)


def parameters(amqp_uri: str, *, heartbeat: int = 60, connection_attempts: int = 1,
               name: str = "guichet") -> pika.URLParameters:
    params = pika.URLParameters(amqp_uri)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 30
    params.connection_attempts = connection_attempts
    params.retry_delay = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": name}
    return params


def connect(amqp_uri: str, **kwargs) -> pika.BlockingConnection:
    return pika.BlockingConnection(parameters(amqp_uri, **kwargs))


def declare_exchange(channel, name: str) -> None:
    # Same declaration as nameko's event exchanges so both sides agree.
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True, auto_delete=False)


def publishing_channel(connection: pika.BlockingConnection, exchange: str):
    """A channel with publisher confirms on, to publish to ``exchange`` (declared if missing)."""
    channel = connection.channel()
    channel.confirm_delivery()
    declare_exchange(channel, exchange)
    return channel

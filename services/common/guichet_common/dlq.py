"""Inspect and replay dead letters: ``guichet dlq list|show|replay|discard``.

Each service has one dead-letter queue, ``guichet.<service>.dlq``. Every dead
letter carries the queue it failed in (``x-guichet-queue``), the number of
attempts and the reason, so a replay sends it back to exactly that handler.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import pika
import pika.exceptions

from . import amqp
from .messaging import dlq_name


@contextmanager
def _channel(amqp_uri: str):
    connection = amqp.connect(amqp_uri, name="guichet-dlq")
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def depths(amqp_uri: str, services: list[str]) -> dict[str, int]:
    result = {}
    with _channel(amqp_uri) as channel:
        for service in services:
            result[dlq_name(service)] = channel.queue_declare(dlq_name(service), durable=True).method.message_count
    return result


def _describe(method, properties, body: bytes) -> dict:
    headers = properties.headers or {}
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    return {
        "message_id": properties.message_id,
        "type": properties.type or (envelope or {}).get("type"),
        "queue": headers.get("x-guichet-queue"),
        "attempts": headers.get("x-guichet-attempts"),
        "error": headers.get("x-guichet-error"),
        "failed_at": headers.get("x-guichet-failed-at"),
        "envelope": envelope if envelope is not None else body.decode("utf-8", "replace"),
    }


def _drain(channel, queue: str):
    """Take every message currently in ``queue`` without acking (they return on close/nack)."""
    count = channel.queue_declare(queue, durable=True).method.message_count
    for _ in range(count):
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        yield method, properties, body


def list_dead_letters(amqp_uri: str, service: str) -> list[dict]:
    with _channel(amqp_uri) as channel:
        taken = list(_drain(channel, dlq_name(service)))
        described = [_describe(*item) for item in taken]
        for method, _p, _b in taken:
            channel.basic_nack(method.delivery_tag, requeue=True)
    return described


def replay(amqp_uri: str, service: str, message_id: str | None = None) -> int:
    """Send dead letters (all, or the one with ``message_id``) back to their handler queue."""
    replayed = 0
    with _channel(amqp_uri) as channel:
        channel.confirm_delivery()
        keep = []
        for method, properties, body in _drain(channel, dlq_name(service)):
            headers = dict(properties.headers or {})
            target = headers.get("x-guichet-queue")
            if (message_id and properties.message_id != message_id) or not target:
                keep.append(method.delivery_tag)
                continue
            for key in ("x-guichet-attempts", "x-guichet-error", "x-guichet-failed-at"):
                headers.pop(key, None)
            headers["x-guichet-replayed"] = True
            channel.basic_publish("", target, body, pika.BasicProperties(
                content_type=properties.content_type, content_encoding=properties.content_encoding,
                message_id=properties.message_id, correlation_id=properties.correlation_id,
                type=properties.type, delivery_mode=2, headers=headers))
            channel.basic_ack(method.delivery_tag)
            replayed += 1
        for tag in keep:
            channel.basic_nack(tag, requeue=True)
    return replayed


def discard(amqp_uri: str, service: str, message_id: str) -> int:
    """Drop one dead letter for good (after an operator decided it must not be replayed)."""
    dropped = 0
    with _channel(amqp_uri) as channel:
        keep = []
        for method, properties, _body in _drain(channel, dlq_name(service)):
            if properties.message_id == message_id:
                channel.basic_ack(method.delivery_tag)
                dropped += 1
            else:
                keep.append(method.delivery_tag)
        for tag in keep:
            channel.basic_nack(tag, requeue=True)
    return dropped

"""The CloudEvents 1.0 envelope, structured JSON mode.

Every event and command travels as one JSON object with the CloudEvents
context attributes plus two extensions: ``correlationid`` (the request that
started it all) and ``causationid`` (the message that caused this one).
On AMQP the message_id is the envelope id, delivery is persistent and the
content type is ``application/cloudevents+json``.
"""
from __future__ import annotations

import datetime as dt
import uuid

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
REQUIRED = ("specversion", "id", "source", "type", "time", "datacontenttype", "data")


class InvalidEnvelope(ValueError):
    """A message that is not a Guichet CloudEvent."""


def source_uri(service: str) -> str:
    return f"/guichet/{service}"


def make_envelope(*, type: str, source: str, data: dict, subject: str | None = None,
                  correlation_id: str | None = None, causation_id: str | None = None,
                  id: str | None = None, time: dt.datetime | None = None) -> dict:
    message = {
        "specversion": SPECVERSION,
        "id": id or str(uuid.uuid4()),
        "source": source_uri(source) if not source.startswith("/") else source,
        "type": type,
        "time": (time or dt.datetime.now(dt.timezone.utc)).isoformat().replace("+00:00", "Z"),
        "datacontenttype": DATA_CONTENT_TYPE,
        "data": data,
    }
    if subject:
        message["subject"] = subject
    if correlation_id:
        message["correlationid"] = correlation_id
    if causation_id:
        message["causationid"] = causation_id
    return message


def check_envelope(message) -> dict:
    """Return ``message`` if it is a well-formed envelope, else raise InvalidEnvelope."""
    if not isinstance(message, dict):
        raise InvalidEnvelope("message body is not a JSON object")
    missing = [name for name in REQUIRED if name not in message]
    if missing:
        raise InvalidEnvelope(f"missing CloudEvents attributes: {', '.join(missing)}")
    if message["specversion"] != SPECVERSION:
        raise InvalidEnvelope(f"unsupported specversion {message['specversion']!r}")
    if not isinstance(message["data"], dict):
        raise InvalidEnvelope("data is not a JSON object")
    return message


def amqp_properties(message: dict) -> dict:
    """AMQP basic properties for an envelope (as keyword arguments for pika)."""
    return {
        "message_id": message["id"],
        "content_type": CONTENT_TYPE,
        "delivery_mode": 2,
        "type": message["type"],
        "correlation_id": message.get("correlationid"),
        "headers": {"ce-type": message["type"], "ce-source": message["source"]},
    }

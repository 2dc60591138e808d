"""JSON structured logs with the correlation id of the current request.

Log lines must carry no personal data and no secret: callers log ids, never
names, emails, phones or tokens. As a safety net the formatter masks anything
that looks like an email address or a phone number.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time

from . import context

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(\+33|0)[1-9](?:[ .-]?\d{2}){4}(?!\d)")
_BEARER = re.compile(r"(?i)(bearer\s+)[\w.-]+")


def scrub(text: str) -> str:
    text = _EMAIL.sub("<email>", text)
    text = _PHONE.sub("<phone>", text)
    return _BEARER.sub(r"\1<token>", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        correlation = context.correlation_id.get()
        if correlation:
            entry["correlation_id"] = correlation
        causation = context.causation_id.get()
        if causation:
            entry["causation_id"] = causation
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # kombu/amqp/pika are chatty at INFO and may log URIs.
    for noisy in ("amqp", "kombu", "pika", "nameko", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

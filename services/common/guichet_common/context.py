"""Per-request context (correlation id, causation id) carried across threads.

contextvars work for OS threads (gunicorn) and for greenlets (nameko/eventlet:
each greenlet has its own context), so a value set in one worker never leaks
into another.
"""
from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
causation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("causation_id", default=None)


def new_id() -> str:
    return str(uuid.uuid4())


def current_correlation_id() -> str | None:
    return correlation_id.get()


@contextmanager
def bound(correlation: str | None = None, causation: str | None = None):
    """Bind correlation/causation ids for the duration of a block."""
    tokens = [correlation_id.set(correlation or correlation_id.get() or new_id()),
              causation_id.set(causation)]
    try:
        yield
    finally:
        causation_id.reset(tokens[1])
        correlation_id.reset(tokens[0])

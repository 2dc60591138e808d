"""What every route shares: cursor pagination and the problem document.

Every list is paged one way (RPC kwargs and HTTP query parameters ``cursor``
and ``limit``; answer ``{"items": [...], "next_cursor": "<opaque>" | null}``,
see ``guichet_common.pagination``): ``PageQuery`` is the query, ``page_of``
builds the answer schema of a list of ``item`` schemas.
"""
from __future__ import annotations

import re

from marshmallow import fields, validate

from ..fields import FrenchSchema, Integer, Text

DEFAULT_LIMIT = 20
AUDIT_DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1000
_DIGITS = re.compile(r"-?[0-9]{1,9}")

_CURSOR_DESCRIPTION = ("Opaque cursor of the page to read: the `next_cursor` of the previous page "
                       "(absent for the first page).")
_LIMIT_DESCRIPTION = f"Number of items per page (1 to {MAX_LIMIT})."


def _cursor() -> Text:
    # Absent for the first page, never null (a query string cannot say null; RPC callers leave it out).
    return Text(max_length=MAX_CURSOR_LENGTH, collapse=False, allow_none=False,
                metadata={"description": _CURSOR_DESCRIPTION})


class _Limit(Integer):
    """A whole number given as JSON (RPC) or as the digits of a query string (HTTP: every value is text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _limit(default: int) -> Integer:
    return _Limit(load_default=default, allow_none=False,
                   validate=validate.Range(min=1, max=MAX_LIMIT),
                   metadata={"description": _LIMIT_DESCRIPTION, "default": default})


class PageQuery(FrenchSchema):
    """The query of a page of a list: ``cursor`` (opaque, optional) and ``limit`` (1..100, default 20)."""

    cursor = _cursor()
    limit = _limit(DEFAULT_LIMIT)


class AuditPageQuery(FrenchSchema):
    """The audit log's page: as ``PageQuery``, 50 entries by default."""

    cursor = _cursor()
    limit = _limit(AUDIT_DEFAULT_LIMIT)


def page_of(item: type[FrenchSchema], name: str) -> type[FrenchSchema]:
    """The answer schema of a page of ``item``: ``{"items": [item...], "next_cursor": str | null}``.

    ``name`` is the schema's name in the OpenAPI document (e.g. ``AccountSummaryPage``)."""
    return type(name, (FrenchSchema,), {
        "__doc__": f"One page of {item.__name__} items; `next_cursor` is null on the last page.",
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True, metadata={
            "description": "Cursor of the next page (query `cursor`), null on the last page."}),
    })


class ComponentStatus(FrenchSchema):
    """One component of the suite as the readiness probe saw it (the broker, or a service)."""

    status = fields.String(required=True, metadata={"description": "ok, down, or the status the service reported",
                                                    "example": "ok"})
    latency_ms = fields.Float(metadata={"description": "Time the check took (components that answered)"})
    reason = fields.String(metadata={"description": "Why the component is down (timeout, error, a problem slug)"})


class ProblemSchema(FrenchSchema):
    """RFC 9457 problem details, as every error of the API is answered.

    Besides the standard members, a problem may carry the extension members
    declared here, and no others (a client can rely on this list)."""

    type = fields.String(required=True, metadata={
        "description": "Stable identifier of the problem, urn:guichet:problem:<slug>",
        "example": "urn:guichet:problem:validation"})
    title = fields.String(required=True, metadata={"description": "Short summary, in French"})
    status = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    detail = fields.String(required=True, metadata={"description": "Explanation for the citizen, in French"})
    instance = fields.String(metadata={"description": "Path of the request"})
    request_id = fields.String(metadata={"description": "Identifier to quote to the support (X-Request-ID)"})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Per-field messages, in French: {field: [message, ...]} (nested for nested objects)"})
    retry_after = fields.Integer(metadata={
        "description": "Seconds to wait before trying again (429 of a lock-out; also sent as Retry-After)"})
    # The readiness problem (503 of /api/ready) names what is down.
    broker = fields.Nested(ComponentStatus, metadata={"description": "The broker's check (readiness only)"})
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentStatus), metadata={
        "description": "Each service's check, by service name (readiness only)"})
    down = fields.List(fields.String(), metadata={"description": "The components that are not ok (readiness only)"})

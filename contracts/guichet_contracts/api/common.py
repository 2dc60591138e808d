"""What every route shares: cursor pagination and the problem document.

Every list is paged one way (RPC kwargs and HTTP query parameters ``cursor``
and ``limit``; answer ``{"items": [...], "next_cursor": "<opaque>" | null}``,
see ``guichet_common.pagination``): ``PageQuery`` is the query, ``page_of``
builds the answer schema of a list of ``item`` schemas.
"""
from __future__ import annotations

from marshmallow import fields, validate

from ..fields import FrenchSchema, Integer, Text

DEFAULT_LIMIT = 20
AUDIT_DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1000

_CURSOR_DESCRIPTION = ("Opaque cursor of the page to read: the `next_cursor` of the previous page "
                       "(absent for the first page).")
_LIMIT_DESCRIPTION = f"Number of items per page (1 to {MAX_LIMIT})."


def _cursor() -> Text:
    return Text(max_length=MAX_CURSOR_LENGTH, collapse=False, metadata={"description": _CURSOR_DESCRIPTION})


def _limit(default: int) -> Integer:
    return Integer(load_default=default, allow_none=False,
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


class ProblemSchema(FrenchSchema):
    """RFC 9457 problem details, as every error of the API is answered."""

    type = fields.String(metadata={"description": "Stable identifier of the problem, urn:guichet:problem:<slug>",
                                   "example": "urn:guichet:problem:validation"})
    title = fields.String(metadata={"description": "Short summary, in French"})
    status = fields.Integer(metadata={"description": "HTTP status code"})
    detail = fields.String(metadata={"description": "Explanation for the citizen, in French"})
    instance = fields.String(metadata={"description": "Path of the request"})
    request_id = fields.String(metadata={"description": "Identifier to quote to the support (X-Request-ID)"})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Per-field messages, in French: {field: [message, ...]} (nested for nested objects)"})

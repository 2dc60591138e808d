"""The schema of the problem documents (every error of the API)."""
from __future__ import annotations

from marshmallow import fields

from guichet_contracts.fields import FrenchSchema


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

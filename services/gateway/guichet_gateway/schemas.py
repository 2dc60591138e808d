"""The base schema of every gateway schema, and the schemas of the problem documents.

Domain blueprints derive their request and response schemas from
``GuichetSchema`` so validation messages are French from the start.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from .french_messages import MESSAGES, localize_field, translate


class GuichetSchema(ma.Schema):
    # Schema-level messages (unknown key, payload that is not an object), in French.
    error_messages = {
        "unknown": MESSAGES["Unknown field."],
        "type": MESSAGES["Invalid input type."],
    }

    class Meta:
        # A misspelt field is an error the client must see, not data silently dropped.
        unknown = ma.RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        localize_field(field_obj)

    def handle_error(self, error: ma.ValidationError, data, *, many: bool, **kwargs) -> None:
        # Validator messages (Length, Range...) and inner fields of List/Dict are not bound fields:
        # translated here, in place, so load() and validate() both report French.
        translated = translate(error.messages)
        if isinstance(error.messages, dict):
            error.messages.clear()
            error.messages.update(translated)
        elif isinstance(error.messages, list):
            error.messages[:] = translated


class ProblemSchema(GuichetSchema):
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

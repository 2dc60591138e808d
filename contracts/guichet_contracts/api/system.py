"""The answers of the gateway's own routes: the API's entry point and the probes (liveness, readiness).

The readiness problem (503) is a ``ProblemSchema`` naming the components that
are down (its ``broker``, ``services`` and ``down`` members).
"""
from __future__ import annotations

from marshmallow import fields

from ..fields import FrenchSchema
from .common import ComponentStatus


class ApiIndex(FrenchSchema):
    name = fields.String(required=True, metadata={"example": "Guichet"})
    version = fields.String(required=True, metadata={"example": "v1"})
    openapi = fields.String(required=True, metadata={"description": "This document", "example": "/api/openapi.json"})
    documentation = fields.String(required=True, metadata={"example": "/api/docs"})


class Liveness(FrenchSchema):
    status = fields.String(required=True, metadata={"enum": ["ok"], "example": "ok"})


class Readiness(FrenchSchema):
    status = fields.String(required=True, metadata={"enum": ["ok"], "example": "ok"})
    broker = fields.Nested(ComponentStatus, metadata={"description": "The broker's check"})
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentStatus), required=True, metadata={
        "description": "Each service's check, by service name"})
    down = fields.List(fields.String(), required=True, metadata={"description": "Empty when ready"})

"""GET /api/v1/: what this API is and where its description lives."""
from __future__ import annotations

from marshmallow import fields

from guichet_contracts.fields import FrenchSchema

from ..api import Blueprint

blp = Blueprint("index", __name__, description="Accueil de l'API")


class IndexSchema(FrenchSchema):
    name = fields.String(metadata={"example": "Guichet"})
    version = fields.String(metadata={"example": "v1"})
    openapi = fields.String(metadata={"example": "/api/openapi.json"})
    documentation = fields.String(metadata={"example": "/api/docs"})


@blp.route("/")
@blp.response(200, IndexSchema)
def index():
    """Entry point of version 1 of the API."""
    return {"name": "Guichet", "version": "v1", "openapi": "/api/openapi.json", "documentation": "/api/docs"}

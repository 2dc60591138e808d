"""GET /api/v1/: what this API is and where its description lives."""
from __future__ import annotations

from guichet_contracts.api.system import ApiIndex

from ..api import Blueprint

blp = Blueprint("index", __name__, description="Accueil de l'API")


@blp.route("/")
@blp.response(200, ApiIndex)
def index():
    """Entry point of version 1 of the API."""
    return {"name": "Guichet", "version": "v1", "openapi": "/api/openapi.json", "documentation": "/api/docs"}

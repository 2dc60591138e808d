"""/.well-known/jwks.json: the public keys that verify Guichet's access tokens, for the town's other systems
and the portal (RFC 7517 key set, RFC 8414's ``jwks_uri``).

The keys are the ones the gateway already verifies tokens with (``tokens.KeySet``,
fetched from accounts' ``public_keys`` RPC): publishing costs no RPC per request,
and a key set the gateway could not load is a 503, never an empty set. The
answer is cacheable for a few minutes; during a rotation it holds the new key
and the previous ones until accounts retires them, and a relying party that
meets an unknown ``kid`` fetches it again.
"""
from __future__ import annotations

from flask import current_app, jsonify, request

from guichet_contracts.api.keys import JwksSchema

from ..api import Blueprint
from ..state import EXTENSION

# Less than the gateway's own key-set lifetime (10 min): a relying party never lags it by much.
JWKS_MAX_AGE_SECONDS = 300

blp = Blueprint("wellknown", __name__, url_prefix="/.well-known",
                description="Clés publiques de vérification des jetons d'accès")


@blp.route("/jwks.json")
@blp.response(200, JwksSchema)
@blp.problems(503)
def jwks():
    """The public keys (Ed25519, ``kid``) that verify the access tokens; never any private member."""
    document = current_app.extensions[EXTENSION].token_verifier.keys.public_jwks()
    response = jsonify(JwksSchema().dump(document))
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
    response.add_etag()
    return response.make_conditional(request)

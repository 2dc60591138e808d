"""The public key set (JWKS, RFC 7517) of the access tokens, published by the gateway at /.well-known/jwks.json.

Only the public members of an Ed25519 key (RFC 8037) exist here: a schema dumps
the fields it lists and no other, so a private member (``d``) can never be
answered even if one reached the gateway.
"""
from __future__ import annotations

from marshmallow import fields

from ..fields import FrenchSchema


class PublicJwkSchema(FrenchSchema):
    """One public signing key of the access tokens."""

    kty = fields.String(required=True, metadata={"description": "Key type: OKP (RFC 8037)", "example": "OKP"})
    crv = fields.String(required=True, metadata={"description": "Curve: Ed25519", "example": "Ed25519"})
    x = fields.String(required=True, metadata={"description": "The public key, base64url without padding"})
    kid = fields.String(required=True, metadata={
        "description": "Key identifier: the `kid` in the header of the tokens this key signed"})
    use = fields.String(required=True, metadata={"description": "Public key use: sig", "example": "sig"})
    alg = fields.String(required=True, metadata={"description": "Algorithm: EdDSA", "example": "EdDSA"})


class JwksSchema(FrenchSchema):
    """Every key that verifies an access token today: during a rotation, the new key and the previous ones
    until they are retired, so a relying party that meets an unknown `kid` fetches this set again."""

    keys = fields.List(fields.Nested(PublicJwkSchema), required=True)

"""A test-only event contract, shaped like the acknowledgement trigger demarches will publish."""
from marshmallow import fields, validate

from guichet_contracts.messages import _Strict
from guichet_contracts.registry import Contract, register


class DemandeSubmitted(_Strict):
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    demande_number = fields.String(required=True)
    procedure_name = fields.String(required=True)
    submitted_at = fields.String(required=True)


DEMANDE_SUBMITTED = register(Contract(type="fr.guichet.demarchesfake.demande.submitted.v1", kind="event",
                                      producer="demarchesfake", schema=DemandeSubmitted,
                                      summary="A request was submitted (tests only)."))

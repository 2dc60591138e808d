"""Contracts of the probe services (registered for the tests only)."""
from marshmallow import fields, validate

from guichet_contracts.messages import _Strict
from guichet_contracts.registry import Contract, register


class NoteCreated(_Strict):
    note_id = fields.Integer(required=True)
    text = fields.String(required=True, validate=validate.Length(max=100))


NOTE_CREATED_TYPE = "fr.guichet.probe.note.created.v1"
NOTE_CREATED = register(Contract(type=NOTE_CREATED_TYPE, kind="event", producer="probe",
                                 schema=NoteCreated, summary="A probe note was written (tests only)."))

"""Contract tests: generated documents up to date, names, schemas and examples agree.

The marshmallow schemas are the source; the JSON Schemas and the AsyncAPI
document published to other city systems are generated from them. These tests
check that the two say the same thing on valid and invalid payloads.
"""
from __future__ import annotations

import copy
import json
import random

import marshmallow as ma
import pytest
import yaml
from jsonschema import Draft202012Validator
from marshmallow import fields, validate

from guichet_contracts import envelope as envelopes
from guichet_contracts import generate, registry, types
from guichet_contracts.files import ASYNCAPI_FILENAME, CONTRACTS_DIR, JSONSCHEMA_DIR
from guichet_contracts.registry import TYPE_PATTERN, Contract, InvalidPayload
from guichet_contracts.validation import MessageValidationError, validate_message

SERVICES = {"accounts", "demarches", "billing", "activities", "notifications", "gateway"}
CONTRACTS = generate.builtin_contracts()
BY_TYPE = {contract.type: contract for contract in CONTRACTS}


def _ids(contracts):
    return [contract.type for contract in contracts]


def _required(contract: Contract) -> list[str]:
    return [name for name, field in contract.schema._declared_fields.items() if field.required]


def _enum_fields(contract: Contract) -> list[str]:
    return [name for name, field in contract.schema._declared_fields.items()
            if any(isinstance(v, validate.OneOf) for v in field.validators)]


def _envelope(contract: Contract, data: dict) -> dict:
    source = contract.producer if contract.kind == "event" else contract.senders[0]
    return envelopes.make_envelope(type=contract.type, source=source, data=data,
                                   correlation_id="c0ffee00-0000-4000-8000-000000000001")


def _assert_rejected(contract: Contract, payload: dict) -> None:
    with pytest.raises(InvalidPayload):
        contract.dump(copy.deepcopy(payload))
    with pytest.raises(MessageValidationError):
        validate_message(_envelope(contract, payload))


# --- (a) generated files are up to date ---------------------------------------

def test_generated_files_are_up_to_date():
    stale = generate.stale_files()
    assert not stale, ("generated contract files are stale, run `make contracts` "
                       "(python -m guichet_contracts.generate):\n  " + "\n  ".join(stale))


def test_check_mode_passes_on_the_repository(capsys):
    assert generate.main(["--check"]) == 0


def test_generation_is_deterministic():
    shuffled = list(CONTRACTS)
    random.Random(4).shuffle(shuffled)
    assert generate.render() == generate.render(shuffled)


def test_check_mode_lists_stale_missing_and_obsolete_files(tmp_path, monkeypatch, capsys):
    files = generate.render()
    assert generate.stale_files(tmp_path, files) == [f"{name} (missing)" for name in files]
    generate.write(tmp_path, files)
    assert generate.stale_files(tmp_path, files) == []
    (tmp_path / "asyncapi.yaml").write_text("asyncapi: 3.0.0\n")
    (tmp_path / "jsonschema" / "fr.guichet.accounts.gone.away.v1.json").write_text("{}")
    assert generate.stale_files(tmp_path, files) == [
        "asyncapi.yaml (out of date)",
        "jsonschema/fr.guichet.accounts.gone.away.v1.json (no contract produces it any more)",
    ]
    monkeypatch.setattr(generate, "CONTRACTS_DIR", tmp_path)
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "run `make contracts`" in err and "asyncapi.yaml (out of date)" in err
    assert (tmp_path / "asyncapi.yaml").read_text() == "asyncapi: 3.0.0\n"  # --check writes nothing
    assert generate.main([]) == 0
    assert generate.stale_files(tmp_path, files) == []
    assert not (tmp_path / "jsonschema" / "fr.guichet.accounts.gone.away.v1.json").exists()


def test_contracts_registered_by_tests_are_not_generated():
    class Probe(ma.Schema):
        thing = fields.String(required=True)

    probe = Contract(type="fr.guichet.accounts.probe.sent.v1", kind="event", producer="accounts",
                     schema=Probe, summary="test only")
    registry.register(probe)
    try:
        assert probe in registry.all_contracts()
        assert probe.type not in _ids(generate.builtin_contracts())
    finally:
        registry.unregister(probe.type)


# --- (b) names ---------------------------------------------------------------------

def test_there_are_contracts():
    assert CONTRACTS
    assert len(BY_TYPE) == len(CONTRACTS)


def test_every_registered_type_has_its_constant_and_every_constant_is_registered():
    constants = {name: value for name, value in vars(types).items() if name.isupper() and isinstance(value, str)}
    assert len(set(constants.values())) == len(constants), "two constants name the same type"
    assert sorted(constants.values()) == sorted(BY_TYPE), "guichet_contracts.types and messages.py disagree"
    for name, value in constants.items():  # ACCOUNT_REGISTERED names fr.guichet.accounts.account.registered.v1
        match = TYPE_PATTERN.match(value)
        assert name == f"{match['entity']}_{match['verb']}".upper(), name


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids(CONTRACTS))
def test_type_name_and_producer(contract):
    match = TYPE_PATTERN.match(contract.type)
    assert match, f"{contract.type} is not fr.guichet.<service>.<entity>.<verb>.v<N>"
    assert match["service"] == contract.producer
    assert contract.producer in SERVICES
    assert int(match["version"]) >= 1
    assert contract.routing_key == contract.type
    if contract.kind == "event":
        assert contract.exchange == f"{contract.producer}.events"
        assert not contract.senders, "events have no senders: their producer publishes them"
    else:
        assert contract.kind == "command"
        assert contract.exchange == f"{contract.producer}.commands"
        assert contract.senders and set(contract.senders) <= SERVICES
    assert contract.summary.strip()


# --- (c) examples, marshmallow and JSON Schema agree ---------------------------------

@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids(CONTRACTS))
def test_example_passes_marshmallow_and_json_schema(contract):
    assert contract.example is not None, f"{contract.type}: add an example payload in messages.py"
    data = contract.dump(copy.deepcopy(contract.example))
    message = _envelope(contract, data)
    assert validate_message(message) is message
    assert validate_message(json.dumps(message)) == message  # the body as published
    # and against the envelope common to every message
    envelope_schema = json.loads((JSONSCHEMA_DIR / "envelope.json").read_text())
    Draft202012Validator(envelope_schema).validate(message)


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids(CONTRACTS))
def test_generated_example_message_is_valid(contract):
    example = generate.example_envelope(contract)
    validate_message(example)
    document = json.loads(generate.render_json(generate.message_schema(contract)))
    assert document["examples"] == [example]


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids(CONTRACTS))
def test_unknown_field_is_rejected(contract):
    _assert_rejected(contract, {**contract.example, "unexpected_field": "x"})


MISSING = [(c, name) for c in CONTRACTS for name in _required(c)]


@pytest.mark.parametrize("contract,name", MISSING, ids=[f"{c.type}-{n}" for c, n in MISSING])
def test_missing_required_field_is_rejected(contract, name):
    payload = copy.deepcopy(contract.example)
    payload.pop(name, None)
    _assert_rejected(contract, payload)


ENUMS = [(c, name) for c in CONTRACTS for name in _enum_fields(c)]


@pytest.mark.parametrize("contract,name", ENUMS, ids=[f"{c.type}-{n}" for c, n in ENUMS])
def test_wrong_enum_value_is_rejected(contract, name):
    _assert_rejected(contract, {**contract.example, name: "not-a-valid-value"})


def test_every_contract_has_a_required_field():
    assert all(_required(c) for c in CONTRACTS)
    assert ENUMS


NOTIFICATION = "fr.guichet.notifications.notification.requested.v1"


@pytest.mark.parametrize("recipient", [
    {},
    {"account_id": None, "email": None, "phone": None},
    {"account_id": ""},
    {"email": "jeanne.martin@example.org", "fax": "0123456789"},
    {"email": "not-an-address"},
])
def test_nested_recipient_rules_agree(recipient):
    contract = BY_TYPE[NOTIFICATION]
    _assert_rejected(contract, {**contract.example, "recipient": recipient})


@pytest.mark.parametrize("recipient", [
    {"account_id": "3f6b1c2e"}, {"email": "jeanne.martin@example.org", "phone": None}, {"phone": "0612345678"},
])
def test_nested_recipient_accepted(recipient):
    contract = BY_TYPE[NOTIFICATION]
    validate_message(_envelope(contract, contract.dump({**contract.example, "recipient": recipient})))


def test_nullable_fields_accept_null():
    contract = BY_TYPE[NOTIFICATION]
    data = contract.dump({**contract.example, "channel": None, "reference": None})
    assert data["channel"] is None
    validate_message(_envelope(contract, data))


@pytest.mark.parametrize("change,where", [
    ({"specversion": "0.3"}, "specversion"),
    ({"datacontenttype": "text/plain"}, "datacontenttype"),
    ({"time": "yesterday"}, "time"),
    ({"time": "2025-02-30T10:00:00Z"}, "time"),
    ({"time": "2025-03-14T10:00:00"}, "time"),  # no offset
    ({"source": "/guichet/billing"}, "source"),  # not the producer
    ({"id": ""}, "id"),
    ({"correlationId": "x"}, "(message)"),  # not a CloudEvents attribute name
    ({"traceparent": {"not": "a scalar"}}, "traceparent"),
])
def test_bad_envelopes_are_rejected(change, where):
    contract = BY_TYPE["fr.guichet.accounts.account.registered.v1"]
    message = {**_envelope(contract, contract.dump(contract.example)), **change}
    with pytest.raises(MessageValidationError) as error:
        validate_message(message)
    assert any(line.startswith(f"{where}:") for line in error.value.errors), error.value.errors


def test_missing_envelope_attribute_is_rejected():
    contract = BY_TYPE["fr.guichet.accounts.account.registered.v1"]
    message = _envelope(contract, contract.dump(contract.example))
    del message["time"]
    with pytest.raises(MessageValidationError, match="'time' is a required property"):
        validate_message(message)


def test_extension_attribute_is_accepted():
    contract = BY_TYPE["fr.guichet.accounts.account.registered.v1"]
    validate_message({**_envelope(contract, contract.dump(contract.example)), "traceparent": "00-ab-cd-01"})


def test_command_source_must_be_a_sender():
    contract = BY_TYPE["fr.guichet.notifications.contact.updated.v1"]
    message = envelopes.make_envelope(type=contract.type, source="billing", data=contract.dump(contract.example))
    with pytest.raises(MessageValidationError, match="source"):
        validate_message(message)


def test_payload_of_another_type_is_rejected():
    registered = BY_TYPE["fr.guichet.accounts.account.registered.v1"]
    activated = BY_TYPE["fr.guichet.accounts.account.activated.v1"]
    with pytest.raises(MessageValidationError, match="data"):
        validate_message(_envelope(activated, registered.dump(registered.example)))


@pytest.mark.parametrize("message,text", [
    ("not json", "not JSON"),
    ([], "not a JSON object"),
    ({"type": "fr.guichet.accounts.account.nothing.v1", "specversion": "1.0"}, "no JSON Schema"),
    ({"type": "../../etc/passwd"}, "type"),
    ({"id": "x"}, "'type' is a required property"),
])
def test_unusable_messages_are_rejected_clearly(message, text):
    with pytest.raises(MessageValidationError, match=text):
        validate_message(message)


@pytest.mark.parametrize("path", sorted(JSONSCHEMA_DIR.glob("*.json")), ids=lambda p: p.name)
def test_json_schema_files_are_valid_and_self_contained(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"], ref
    if path.name != "envelope.json":
        assert schema["$id"] == f"urn:guichet:contract:{path.stem}"
        assert schema["properties"]["type"]["const"] == path.stem
        assert schema["properties"]["data"]["additionalProperties"] is False


# --- (d) AsyncAPI ------------------------------------------------------------------------

REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}},
       "additionalProperties": False}
IDS = "^[\\w\\d.\\-_]+$"

# The parts of AsyncAPI 3.0.0 (and its AMQP 0.3.0 bindings) this project uses, after the official
# JSON Schemas: required fields, allowed values, no unknown keys where the spec forbids them.
ASYNCAPI_SUBSET = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["asyncapi", "info", "channels", "operations", "components"],
    "additionalProperties": False,
    "properties": {
        "asyncapi": {"const": "3.0.0"},
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9+.-]*:"},
        "defaultContentType": {"type": "string"},
        "info": {
            "type": "object", "required": ["title", "version"], "additionalProperties": False,
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "version": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "license": {"type": "object", "required": ["name"], "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
            },
        },
        "servers": {
            "type": "object", "propertyNames": {"pattern": IDS},
            "additionalProperties": {
                "type": "object", "required": ["host", "protocol"], "additionalProperties": False,
                "properties": {"host": {"type": "string"}, "protocol": {"const": "amqp"},
                               "protocolVersion": {"const": "0-9-1"}, "description": {"type": "string"},
                               "title": {"type": "string"}, "pathname": {"type": "string"}},
            },
        },
        "channels": {
            "type": "object", "propertyNames": {"pattern": IDS},
            "additionalProperties": {
                "type": "object", "required": ["address", "messages", "bindings"], "additionalProperties": False,
                "properties": {
                    "address": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                    "summary": {"type": "string"},
                    "messages": {"type": "object", "propertyNames": {"pattern": IDS}, "additionalProperties": REF},
                    "bindings": {
                        "type": "object", "required": ["amqp"],
                        "properties": {"amqp": {
                            "type": "object", "required": ["is", "exchange"], "additionalProperties": False,
                            "properties": {
                                "is": {"const": "routingKey"},
                                "bindingVersion": {"enum": ["0.3.0", "latest"]},
                                "exchange": {
                                    "type": "object", "additionalProperties": False,
                                    "required": ["name", "type", "durable", "autoDelete", "vhost"],
                                    "properties": {"name": {"type": "string", "maxLength": 255},
                                                   "type": {"enum": ["topic", "direct", "fanout", "default",
                                                                     "headers"]},
                                                   "durable": {"type": "boolean"},
                                                   "autoDelete": {"type": "boolean"},
                                                   "vhost": {"type": "string"}},
                                },
                            },
                        }},
                    },
                },
            },
        },
        "operations": {
            "type": "object", "propertyNames": {"pattern": IDS},
            "additionalProperties": {
                "type": "object", "required": ["action", "channel"], "additionalProperties": False,
                "properties": {
                    "action": {"enum": ["send", "receive"]},
                    "channel": REF,
                    "messages": {"type": "array", "items": REF},
                    "title": {"type": "string"}, "summary": {"type": "string"}, "description": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                    "bindings": {"type": "object", "properties": {"amqp": {
                        "type": "object", "additionalProperties": False,
                        "properties": {"deliveryMode": {"enum": [1, 2]}, "ack": {"type": "boolean"},
                                       "bindingVersion": {"type": "string"}},
                    }}},
                },
            },
        },
        "components": {
            "type": "object", "additionalProperties": False,
            "properties": {"messages": {
                "type": "object", "propertyNames": {"pattern": IDS},
                "additionalProperties": {
                    "type": "object", "required": ["name", "payload", "contentType", "bindings"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"},
                        "description": {"type": "string"}, "contentType": {"type": "string"},
                        "payload": REF,
                        "correlationId": {
                            "type": "object", "required": ["location"], "additionalProperties": False,
                            "properties": {"description": {"type": "string"}, "location": {
                                "type": "string", "pattern": "^\\$message\\.(header|payload)#(/(([^/~])|(~[01]))*)*"}},
                        },
                        "tags": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                        "examples": {"type": "array", "items": {
                            "type": "object", "anyOf": [{"required": ["payload"]}, {"required": ["headers"]}],
                            "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "summary": {"type": "string"},
                                           "headers": {"type": "object"}, "payload": {}},
                        }},
                        "bindings": {"type": "object", "required": ["amqp"], "properties": {"amqp": {
                            "type": "object", "required": ["messageType"], "additionalProperties": False,
                            "properties": {"messageType": {"type": "string"}, "contentEncoding": {"type": "string"},
                                           "bindingVersion": {"enum": ["0.3.0", "latest"]}},
                        }}},
                    },
                },
            }},
        },
    },
}


@pytest.fixture(scope="module")
def asyncapi():
    return yaml.safe_load((CONTRACTS_DIR / ASYNCAPI_FILENAME).read_text(encoding="utf-8"))


def _resolve(document, pointer: str):
    assert pointer.startswith("#/"), pointer
    node = document
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert part in node, f"{pointer} does not resolve"
        node = node[part]
    return node


def test_asyncapi_document_structure(asyncapi):
    Draft202012Validator.check_schema(ASYNCAPI_SUBSET)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(ASYNCAPI_SUBSET).iter_errors(asyncapi)]
    assert not errors, "\n".join(errors)
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["info"]["title"] == "Guichet"
    assert asyncapi["info"]["license"]["name"] == "AGPL-3.0-or-later"
    assert asyncapi["defaultContentType"] == "application/cloudevents+json"


def test_asyncapi_lists_every_contract_exactly_once(asyncapi):
    channels, operations = asyncapi["channels"], asyncapi["operations"]
    messages = asyncapi["components"]["messages"]
    assert sorted(m["name"] for m in messages.values()) == sorted(BY_TYPE)
    assert sorted(c["address"] for c in channels.values()) == sorted(BY_TYPE)
    assert len(operations) == len(BY_TYPE)
    operated = []
    for operation in operations.values():
        channel = _resolve(asyncapi, operation["channel"]["$ref"])
        contract = BY_TYPE[channel["address"]]
        operated.append(contract.type)
        assert operation["action"] == ("send" if contract.kind == "event" else "receive")
        if contract.kind == "command":
            assert all(sender in operation["description"] for sender in contract.senders)
        amqp = channel["bindings"]["amqp"]
        assert amqp["exchange"] == {"name": contract.exchange, "type": "topic", "durable": True,
                                    "autoDelete": False, "vhost": "/"}
        channel_messages = [ref["$ref"] for ref in channel["messages"].values()]
        for ref in operation["messages"]:
            # an operation's messages are those of its channel (refs into the channel)
            assert ref["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            message = _resolve(asyncapi, _resolve(asyncapi, ref["$ref"])["$ref"])
            assert _resolve(asyncapi, ref["$ref"])["$ref"] in channel_messages
            assert message["name"] == contract.type
            assert message["contentType"] == "application/cloudevents+json"
            assert message["bindings"]["amqp"]["messageType"] == contract.type
            assert message["correlationId"]["location"] == "$message.payload#/correlationid"
            payload = CONTRACTS_DIR / message["payload"]["$ref"]
            assert payload.resolve() == (JSONSCHEMA_DIR / f"{contract.type}.json").resolve()
            for example in message.get("examples", []):
                validate_message(example["payload"])
    assert sorted(operated) == sorted(BY_TYPE)


def test_a_regenerated_json_schema_is_read_again_without_a_cache_to_clear(tmp_path, monkeypatch):
    from guichet_contracts import validation
    from guichet_contracts.files import ENVELOPE_FILENAME

    monkeypatch.setattr(validation, "JSONSCHEMA_DIR", tmp_path)
    schema = tmp_path / ENVELOPE_FILENAME
    schema.write_text(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}))
    with pytest.raises(MessageValidationError):
        validate_message({"type": "pas un type"})
    schema.write_text(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                  "required": ["specversion"]}))
    with pytest.raises(MessageValidationError, match="specversion"):
        validate_message({"type": "pas un type"})

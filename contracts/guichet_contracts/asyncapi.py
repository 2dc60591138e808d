"""The AsyncAPI 3.0.0 document of Guichet: exchanges, routing keys, operations and messages (whose payloads
are the JSON Schemas of ``json_schemas``)."""
from __future__ import annotations

from . import envelope as envelopes
from .files import CONTRACTS_DIR, JSONSCHEMA_DIRNAME, message_schema_filename
from .json_schemas import GENERATED_NOTE, example_envelope
from .registry import Contract

LICENSE = {"name": "AGPL-3.0-or-later", "url": "https://www.gnu.org/licenses/agpl-3.0.html"}
AMQP_BINDING_VERSION = "0.3.0"


def contracts_version() -> str:
    """The version of the contract set: the guichet-contracts package version."""
    pyproject = CONTRACTS_DIR / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        with pyproject.open("rb") as file:
            return tomllib.load(file)["project"]["version"]
    from importlib.metadata import version

    return version("guichet-contracts")


def _asyncapi_id(message_type: str) -> str:
    return message_type  # dots are allowed in AsyncAPI component and channel ids


def asyncapi_document(contracts: list[Contract]) -> dict:
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    messages: dict[str, dict] = {}
    for contract in sorted(contracts, key=lambda c: c.type):
        key = _asyncapi_id(contract.type)
        messages[key] = _asyncapi_message(contract)
        channels[key] = {
            "address": contract.routing_key,
            "title": f"{contract.exchange} / {contract.routing_key}",
            "description": (f"Routing key `{contract.routing_key}` on the topic exchange `{contract.exchange}`."),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": contract.exchange, "type": "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION,
            }},
        }
        if contract.kind == "event":
            action = "send"
            description = (f"The {contract.producer} service publishes this event. Subscribe with your own "
                           f"durable queue bound to `{contract.exchange}` with this routing key (or a pattern).")
        else:
            action = "receive"
            description = (f"Internal command: the {contract.producer} service receives it; sent by "
                           f"{', '.join(sorted(contract.senders))}. Not for external subscribers.")
        operations[f"{action}.{key}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "summary": contract.summary,
            "description": description,
            "tags": [{"name": contract.kind}, {"name": contract.producer}],
            "bindings": {"amqp": {"deliveryMode": 2, "ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:guichet:asyncapi",
        "info": {
            "title": "Guichet",
            "version": contracts_version(),
            "description": (
                "Messages of Guichet, the citizen portal back end of a French town.\n\n"
                "Events (`*.events` exchanges) are facts other city systems may subscribe to, each with its own "
                "durable queue. Commands (`*.commands` exchanges) are internal, point to point between Guichet "
                "services, and not for subscribers.\n\n"
                "Every message is a CloudEvents 1.0 envelope in structured JSON mode; the routing key is the "
                "CloudEvents `type`. JSON Schemas of the whole messages are in `jsonschema/`. Deduplicate on the "
                "CloudEvents `id`: delivery is at least once. A breaking change is published as a new type "
                "(`.v2`) side by side with the old one.\n\n"
                + GENERATED_NOTE
            ),
            "license": dict(LICENSE),
        },
        "defaultContentType": envelopes.CONTENT_TYPE,
        "servers": {
            "production": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The town's RabbitMQ broker, virtual host `/`. The host name depends on the "
                               "deployment; ask the town's IT department for it and for credentials.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _asyncapi_message(contract: Contract) -> dict:
    message = {
        "name": contract.type,
        "title": contract.type,
        "summary": contract.summary,
        "contentType": envelopes.CONTENT_TYPE,
        "correlationId": {
            "description": "The request that started the chain of messages (CloudEvents extension).",
            "location": "$message.payload#/correlationid",
        },
        "payload": {"$ref": f"./{JSONSCHEMA_DIRNAME}/{message_schema_filename(contract.type)}"},
        "tags": [{"name": contract.kind}, {"name": contract.producer}],
        "bindings": {"amqp": {"messageType": contract.type, "bindingVersion": AMQP_BINDING_VERSION}},
    }
    example = example_envelope(contract)
    if example is not None:
        message["examples"] = [{"name": "example", "payload": example}]
    return message

"""Registry of every event and command: type, producer, schema, AMQP binding."""
from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field

import marshmallow as ma

TYPE_PATTERN = re.compile(r"^fr\.guichet\.(?P<service>[a-z]+)\.(?P<entity>[a-z_]+)\.(?P<verb>[a-z_]+)\.v(?P<version>\d+)$")


class UnknownMessageType(KeyError):
    pass


class InvalidPayload(ValueError):
    def __init__(self, message_type: str, errors: dict | list):
        super().__init__(f"{message_type}: payload rejected by its schema: {errors}")
        self.message_type = message_type
        self.errors = errors


@dataclass(frozen=True)
class Contract:
    type: str
    kind: str  # "event" or "command"
    producer: str  # events: the emitting service; commands: the receiving service
    schema: builtins.type[ma.Schema]  # builtins: the field ``type`` above shadows the name in this class
    summary: str
    senders: tuple[str, ...] = field(default=())  # commands only
    # An example payload (documentation and contract tests); not part of the hash.
    example: dict | None = field(default=None, hash=False)

    def __post_init__(self):
        match = TYPE_PATTERN.match(self.type)
        if not match:
            raise ValueError(f"bad message type {self.type!r}: expected fr.guichet.<service>.<entity>.<verb>.vN")
        if match["service"] != self.producer:
            raise ValueError(f"{self.type}: type names service {match['service']!r}, contract says {self.producer!r}")
        if self.kind not in ("event", "command"):
            raise ValueError(f"{self.type}: kind must be event or command")

    @property
    def exchange(self) -> str:
        # Events go to the producer's nameko events exchange; commands to the
        # receiver's commands exchange, which only that receiver binds.
        return f"{self.producer}.{'events' if self.kind == 'event' else 'commands'}"

    @property
    def routing_key(self) -> str:
        return self.type

    def load(self, data: dict) -> dict:
        try:
            return self.schema().load(data)
        except ma.ValidationError as error:
            raise InvalidPayload(self.type, error.messages) from error

    def dump(self, data: dict) -> dict:
        """Validate an outgoing payload and return its JSON form."""
        schema = self.schema()
        try:
            loaded = schema.load(data)
        except ma.ValidationError as error:
            raise InvalidPayload(self.type, error.messages) from error
        return schema.dump(loaded)


_CONTRACTS: dict[str, Contract] = {}


def register(contract: Contract) -> Contract:
    existing = _CONTRACTS.get(contract.type)
    if existing is not None and existing != contract:
        raise ValueError(f"{contract.type} registered twice")
    _CONTRACTS[contract.type] = contract
    return contract


def unregister(message_type: str) -> None:
    _CONTRACTS.pop(message_type, None)


def get(message_type: str) -> Contract:
    _load_builtin()
    try:
        return _CONTRACTS[message_type]
    except KeyError:
        raise UnknownMessageType(message_type) from None


def all_contracts() -> list[Contract]:
    _load_builtin()
    return sorted(_CONTRACTS.values(), key=lambda c: c.type)


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import messages  # noqa: F401  (registers the contracts)

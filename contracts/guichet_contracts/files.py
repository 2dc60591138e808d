"""Where the generated contract documents live: ``contracts/jsonschema`` and
``contracts/asyncapi.yaml``, siblings of this package (found as long as the
package is installed editable or run from the source tree)."""
from __future__ import annotations

from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
JSONSCHEMA_DIRNAME = "jsonschema"
JSONSCHEMA_DIR = CONTRACTS_DIR / JSONSCHEMA_DIRNAME
ASYNCAPI_FILENAME = "asyncapi.yaml"
ENVELOPE_FILENAME = "envelope.json"


def message_schema_filename(message_type: str) -> str:
    return f"{message_type}.json"

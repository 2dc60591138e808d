"""The development unsubscribe secret, kept in the data directory when no secret is configured."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from ..domain.unsubscribe import MIN_SECRET_BYTES

log = logging.getLogger(__name__)

KEY_FILE = Path("keys") / "notifications-unsubscribe.secret"


class KeyFileError(ValueError):
    """The key file exists but holds no usable secret."""


def development_secret(data_dir: Path, variable: str) -> bytes:
    """The secret kept in ``<data_dir>/keys/notifications-unsubscribe.secret``, made at first use.

    Written to a temporary file then hard-linked into place, so that two
    processes starting together agree on one secret and never read half of it.
    ``variable`` is the environment variable production must set instead (for the warning).
    """
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
            log.warning("unsubscribe secret generated in the data directory: set %s in production "
                        "(every replica needs the same one)", variable)
        except FileExistsError:
            pass  # another process made it first: theirs is the one
        finally:
            tmp.unlink()
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_BYTES:
        raise KeyFileError(f"{path}: unsubscribe secret too short; delete the file to make a new one")
    return value.encode("ascii")

"""Where the notifications service's file SMS provider writes, so the development tools read the same file.

The file provider (``type: file`` in the town settings' ``notifications.sms_providers``,
or the default when no provider is configured) appends one JSON line per SMS to
a file. The notifications service (writer), ``guichet sms`` and the mail
catcher's page (readers, in guichet_devtools) all find that file here:

* each ``type: file`` provider's ``path`` (relative paths from the working directory);
* a ``type: file`` provider without ``path``, or no provider at all:
  ``$GUICHET_SMS_FILE`` if set, else ``$GUICHET_DATA_DIR/sms.jsonl``
  (:func:`default_path`). docker-compose sets ``GUICHET_SMS_FILE`` in every
  container to a file on a volume that the notifications and mail catcher
  containers share (their data directories are not shared).

A town with only HTTP providers has no SMS file. Test mode
(``notifications.test_mode``) writes none either: the SMS are only recorded.
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FILE = "sms.jsonl"
FILE_VARIABLE = "GUICHET_SMS_FILE"


def default_path(data_dir, environ=None) -> Path:
    """The file of a file provider without ``path``: ``$GUICHET_SMS_FILE``, else ``<data_dir>/sms.jsonl``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(FILE_VARIABLE) or Path(data_dir) / DEFAULT_FILE)


def sms_files(town: dict | None, data_dir, environ=None) -> list[Path]:
    """The files the file SMS provider writes to, for these town settings (see the module doc)."""
    section = (town or {}).get("notifications") or {}
    providers = section.get("sms_providers") or [{"type": "file"}]
    paths: list[Path] = []
    for provider in providers:
        if isinstance(provider, dict) and provider.get("type") == "file":
            path = Path(provider["path"]) if provider.get("path") else default_path(data_dir, environ)
            if path not in paths:
                paths.append(path)
    return paths

"""Development SMS: where the notifications service's file provider writes them, and reading them back.

The file provider (``type: file`` in the town settings' ``notifications.sms_providers``,
or the default when no provider is configured) appends one JSON line per SMS to
a file. The notifications service, ``guichet sms`` and the mail catcher's page
all find that file with :func:`sms_files`, so they agree on it:

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

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_FILE = "sms.jsonl"
FILE_VARIABLE = "GUICHET_SMS_FILE"


def default_path(data_dir, environ=None) -> Path:
    """The file of a file provider without ``path``: ``$GUICHET_SMS_FILE``, else ``<data_dir>/sms.jsonl``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(FILE_VARIABLE) or Path(data_dir) / DEFAULT_FILE)


def sms_files(town: dict | None, data_dir, environ=None) -> list[Path]:
    """The files the development SMS provider writes to, for these town settings (see the module doc)."""
    section = (town or {}).get("notifications") or {}
    providers = section.get("sms_providers") or [{"type": "file"}]
    paths = []
    for provider in providers:
        if isinstance(provider, dict) and provider.get("type") == "file":
            path = Path(provider["path"]) if provider.get("path") else default_path(data_dir, environ)
            if path not in paths:
                paths.append(path)
    return paths


def read_sms(paths, last: int | None = None) -> list[dict]:
    """The SMS of these files, oldest first (the ``last`` ones only if given).

    Each: ``time`` (ISO 8601, UTC), ``to`` (E.164), ``text``, ``provider``,
    ``notification`` (its id), ``segments``, ``encoding``. Unreadable lines are skipped."""
    messages = []
    for path in paths:
        try:
            with Path(path).open(encoding="utf-8") as fh:
                lines = fh.readlines()
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line being written, or not ours
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                messages.append({key: item.get(key) for key in ("time", "to", "text", "provider", "notification",
                                                                 "segments", "encoding")})
    messages.sort(key=lambda item: str(item.get("time") or ""))
    if last is not None:
        messages = messages[-last:] if last > 0 else []
    return messages


def local_time(value, timezone: str = "Europe/Paris") -> str:
    """An ISO 8601 time as ``2026-03-02 10:15:00`` in the town's time zone (the value itself if unreadable)."""
    try:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(timezone))
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, KeyError):
        return str(value or "?")


def format_sms(messages: list[dict], timezone: str = "Europe/Paris") -> str:
    """The SMS as ``guichet sms`` prints them."""
    if not messages:
        return "Aucun SMS envoyé."
    blocks = []
    for item in messages:
        segments = item.get("segments")
        blocks.append(f"=== {local_time(item.get('time'), timezone)} — à {item.get('to') or '?'}"
                      + (f" ({segments} segment{'s' if segments != 1 else ''})" if segments else "")
                      + f"\n{item.get('text') or ''}\n")
    return "\n".join(blocks)

"""Reading back the SMS the notifications service's file provider wrote (``guichet sms``, the mail catcher's page).

Where that file is: :mod:`guichet_common.smsfile` (shared with the writer).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

FIELDS = ("time", "to", "text", "provider", "notification", "segments", "encoding")


def read_sms(paths, last: int | None = None) -> list[dict]:
    """The SMS of these files, oldest first (the ``last`` ones only if given).

    Each: ``time`` (ISO 8601, UTC), ``to`` (E.164), ``text``, ``provider``,
    ``notification`` (its id), ``segments``, ``encoding``. Unreadable lines are skipped."""
    messages = [message for path in paths for message in _read_file(Path(path))]
    messages.sort(key=lambda item: str(item.get("time") or ""))
    if last is not None:
        messages = messages[-last:] if last > 0 else []
    return messages


def _read_file(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as fh:
            lines = fh.readlines()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return []
    messages = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line being written, or not ours
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            messages.append({key: item.get(key) for key in FIELDS})
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

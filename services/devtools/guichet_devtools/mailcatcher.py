"""Development mail catcher: an SMTP server that keeps every mail instead of sending it.

``make run`` starts it on 127.0.0.1:1025 (SMTP) and serves the mails on
http://127.0.0.1:8025/ (a page, and JSON at /api/messages for tests);
``guichet mail`` prints them in a terminal. Mails are kept as .eml files in
$GUICHET_DATA_DIR/mail so they survive a restart.

The same page has an "SMS" section with the SMS the notifications service's
file provider wrote (JSON at /api/sms), when it is given the files to read
(:func:`guichet_common.smsfile.sms_files`, as ``make run`` does); ``guichet sms``
prints them in a terminal.
"""
from __future__ import annotations

import email
import email.policy
import html
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from . import sms


class MailBox:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def store(self, envelope_from: str, recipients: list[str], content: bytes) -> str:
        message_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            path = self.directory / f"{message_id}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(content)
            tmp.rename(path)  # readers never see half a mail
            (self.directory / f"{message_id}.json").write_text(json.dumps(
                {"envelope_from": envelope_from, "recipients": recipients}))
        return message_id

    def messages(self) -> list[dict]:
        result = []
        for path in sorted(self.directory.glob("*.eml")):
            result.append(self.read(path.stem))
        return result

    def read(self, message_id: str) -> dict:
        path = self.directory / f"{message_id}.eml"
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        meta_path = self.directory / f"{message_id}.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        text = parsed.get_body(preferencelist=("plain",))
        rich = parsed.get_body(preferencelist=("html",))
        return {
            "id": message_id,
            "from": str(parsed["From"] or ""),
            "to": str(parsed["To"] or ""),
            "recipients": meta.get("recipients", []),
            "subject": str(parsed["Subject"] or ""),
            "date": str(parsed["Date"] or ""),
            "message_id": str(parsed["Message-ID"] or ""),
            "headers": {key: str(value) for key, value in parsed.items()},
            "text": text.get_content() if text is not None else "",
            "html": rich.get_content() if rich is not None else "",
            "attachments": [part.get_filename() for part in parsed.iter_attachments()],
        }

    def clear(self) -> None:
        for path in self.directory.glob("*"):
            path.unlink()


class _SmtpHandler:
    def __init__(self, mailbox: MailBox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        self.mailbox.store(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def _sms_section(sms_files, timezone: str) -> str:
    if sms_files is None:
        return ("<h2>SMS</h2><p>Emplacement des SMS inconnu : <code>.venv/bin/guichet sms</code> "
                "les affiche.</p>")
    rows = "".join(
        f"<tr><td>{html.escape(sms.local_time(item['time'], timezone))}</td><td>{html.escape(str(item['to'] or '?'))}"
        f"</td><td>{html.escape(item['text'])}</td></tr>"
        for item in reversed(sms.read_sms(sms_files, last=SMS_ON_PAGE)))
    files = ", ".join(html.escape(str(path)) for path in sms_files) or "aucun (pas de fournisseur « file »)"
    return (f"<h2>SMS</h2><p>Fichier : {files}</p>"
            + (f"<table><tr><th>Date</th><th>Destinataire</th><th>Texte</th></tr>{rows}</table>" if rows
               else "<p>Aucun SMS envoyé.</p>"))


SMS_ON_PAGE = 200


class _Handler(BaseHTTPRequestHandler):
    """The mail catcher's page and JSON; :func:`_http_handler` binds it to a mail box and the SMS files."""

    mailbox: MailBox
    sms_files: list[Path] | None = None
    timezone = "Europe/Paris"

    def log_message(self, *_args):  # no access log: mails hold personal data
        pass

    def _send(self, status: int, body: str, content_type: str):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/api/messages":
            return self._send(200, json.dumps(self.mailbox.messages(), ensure_ascii=False), "application/json")
        if self.path == "/api/sms":
            return self._sms_json()
        if self.path.startswith("/messages/"):
            return self._mail_page(self.path.rsplit("/", 1)[-1])
        if self.path == "/":
            return self._index_page()
        return self._send(404, "Introuvable", "text/plain; charset=utf-8")

    def _sms_json(self):
        if self.sms_files is None:
            return self._send(404, json.dumps({"detail": "Emplacement des SMS inconnu."}, ensure_ascii=False),
                              "application/json")
        return self._send(200, json.dumps(sms.read_sms(self.sms_files), ensure_ascii=False), "application/json")

    def _mail_page(self, message_id: str):
        try:
            mail = self.mailbox.read(message_id)
        except (FileNotFoundError, ValueError):
            return self._send(404, "Message introuvable", "text/plain; charset=utf-8")
        body = (f"<h1>{html.escape(mail['subject'])}</h1><p>De : {html.escape(mail['from'])}<br>"
                f"À : {html.escape(mail['to'])}<br>{html.escape(mail['date'])}</p>"
                f"<pre>{html.escape(mail['text'])}</pre>"
                + (f"<p>Pièces jointes : {html.escape(', '.join(mail['attachments']))}</p>"
                   if mail["attachments"] else ""))
        return self._send(200, _page(body), "text/html; charset=utf-8")

    def _index_page(self):
        rows = "".join(
            f"<tr><td>{html.escape(m['date'])}</td><td>{html.escape(m['to'])}</td>"
            f"<td><a href='/messages/{m['id']}'>{html.escape(m['subject'])}</a></td></tr>"
            for m in reversed(self.mailbox.messages()))
        body = ("<h1>Courriels reçus (développement)</h1><table><tr><th>Date</th><th>Destinataire</th>"
                f"<th>Objet</th></tr>{rows}</table>" + _sms_section(self.sms_files, self.timezone))
        return self._send(200, _page(body), "text/html; charset=utf-8")


def _http_handler(mailbox: MailBox, sms_files=None, timezone: str = "Europe/Paris"):
    return type("Handler", (_Handler,), {"mailbox": mailbox, "sms_files": sms_files, "timezone": timezone})


def _page(body: str) -> str:
    return ("<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Guichet — courriels et SMS</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;"
            "vertical-align:top}</style>"
            f"</head><body>{body}</body></html>")


class MailCatcher:
    """``sms_files``: the development SMS files to show (None: their location is unknown here)."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", smtp_port: int = 1025, http_port: int = 8025,
                 sms_files: list[Path] | None = None, timezone: str = "Europe/Paris"):
        self.mailbox = MailBox(directory)
        self.sms_files = sms_files
        self.controller = Controller(_SmtpHandler(self.mailbox), hostname=host, port=smtp_port)
        self.http = ThreadingHTTPServer((host, http_port), _http_handler(self.mailbox, sms_files, timezone)) \
            if http_port else None

    def start(self) -> "MailCatcher":
        self.controller.start()
        if self.http is not None:
            threading.Thread(target=self.http.serve_forever, daemon=True, name="mailcatcher-http").start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()


def print_mails(directory: Path, last: int | None = None) -> None:
    mails = MailBox(directory).messages()
    for mail in mails[-last:] if last else mails:
        print(f"=== {mail['date']} — {mail['subject']}\nDe : {mail['from']}\nÀ : {mail['to']}\n\n{mail['text']}\n")
    if not mails:
        print("Aucun courriel reçu.")

import json
import smtplib
import socket
import urllib.request
from email.message import EmailMessage

from guichet_common.mailcatcher import MailCatcher


def _port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mails_are_kept_and_readable_as_json_and_as_a_page(tmp_path):
    smtp_port, http_port = _port(), _port()
    catcher = MailCatcher(tmp_path, smtp_port=smtp_port, http_port=http_port).start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "mairie@ville.test", "a@b.test", "Activez votre compte"
        message.set_content("Cliquez sur le lien : https://ville.test/activation/xyz")
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="recu.pdf")
        with smtplib.SMTP("127.0.0.1", smtp_port) as client:
            client.send_message(message)
        [mail] = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/messages").read())
        assert mail["subject"] == "Activez votre compte"
        assert "activation/xyz" in mail["text"]
        assert mail["attachments"] == ["recu.pdf"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/").read().decode()
        assert "Activez votre compte" in page
    finally:
        catcher.stop()

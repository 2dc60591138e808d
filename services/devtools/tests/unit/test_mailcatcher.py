import json
import smtplib
import socket
import urllib.request
from email.message import EmailMessage

from guichet_devtools import sms
from guichet_devtools.mailcatcher import MailCatcher


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


def _write_sms(path, *items):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for item in items:
            fh.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n")


SMS_1 = {"time": "2026-03-02T09:15:00+00:00", "provider": "dev-file", "reference": "r1", "notification": "n1",
         "to": "+33612345678", "text": "Rappel : sortir vos encombrants <demain>", "encoding": "GSM-7", "segments": 1}
SMS_2 = {**SMS_1, "time": "2026-03-02T10:00:00+00:00", "notification": "n2", "to": "+33698765432",
         "text": "Votre demande n° D1 est acceptée."}


def test_the_page_shows_the_development_sms_and_serves_them_as_json(tmp_path):
    sms_file = tmp_path / "var" / "sms.jsonl"
    _write_sms(sms_file, SMS_2, "{not json", SMS_1)
    http_port = _port()
    catcher = MailCatcher(tmp_path / "mail", smtp_port=_port(), http_port=http_port, sms_files=[sms_file]).start()
    try:
        items = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/sms").read())
        assert [(i["to"], i["text"], i["notification"]) for i in items] == [
            ("+33612345678", SMS_1["text"], "n1"), ("+33698765432", SMS_2["text"], "n2")]  # oldest first
        page = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/").read().decode()
        assert "<h2>SMS</h2>" in page and "+33698765432" in page
        assert "sortir vos encombrants &lt;demain&gt;" in page  # escaped
        assert "2026-03-02 11:00:00" in page  # the town's time (Europe/Paris)
        assert page.index("+33698765432") < page.index("+33612345678")  # newest first on the page
    finally:
        catcher.stop()


def test_without_the_sms_location_the_json_endpoint_is_404_and_the_page_says_so(tmp_path):
    import urllib.error

    import pytest

    http_port = _port()
    catcher = MailCatcher(tmp_path / "mail", smtp_port=_port(), http_port=http_port).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/sms")
        assert missing.value.code == 404
        page = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/").read().decode()
        assert "Emplacement des SMS inconnu" in page and "guichet sms" in page
    finally:
        catcher.stop()
    empty_port = _port()
    catcher = MailCatcher(tmp_path / "mail", smtp_port=_port(), http_port=empty_port,
                          sms_files=[tmp_path / "nothing-yet.jsonl"]).start()
    try:
        assert json.loads(urllib.request.urlopen(f"http://127.0.0.1:{empty_port}/api/sms").read()) == []
        assert "Aucun SMS envoyé." in urllib.request.urlopen(f"http://127.0.0.1:{empty_port}/").read().decode()
    finally:
        catcher.stop()


def test_reading_the_latest_sms(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write_sms(first, SMS_2, "", "[1, 2]", "{\"text\": 5}")
    _write_sms(second, SMS_1)
    assert [i["notification"] for i in sms.read_sms([first, second, tmp_path / "missing.jsonl"])] == ["n1", "n2"]
    assert [i["notification"] for i in sms.read_sms([first, second], last=1)] == ["n2"]
    assert sms.read_sms([first, second], last=0) == []
    text = sms.format_sms(sms.read_sms([first, second]))
    assert text.index("2026-03-02 10:15:00 — à +33612345678 (1 segment)") < text.index("+33698765432")
    assert "Rappel : sortir vos encombrants <demain>" in text
    assert sms.format_sms([]) == "Aucun SMS envoyé."


def test_guichet_sms_prints_the_latest_ones(tmp_path, monkeypatch, capsys):
    import yaml

    from guichet_common import cli

    sms_file = tmp_path / "dev-sms.jsonl"
    _write_sms(sms_file, SMS_1, SMS_2)
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512", "notifications": {
        "sms_providers": [{"type": "file", "name": "dev-file", "path": str(sms_file)}]}}), encoding="utf-8")
    monkeypatch.setenv("GUICHET_TOWN_SETTINGS", str(town))
    monkeypatch.setenv("GUICHET_DATA_DIR", str(tmp_path / "var"))
    cli.main(["sms", "--last", "1"])
    out = capsys.readouterr()
    assert "+33698765432" in out.out and "Votre demande n° D1 est acceptée." in out.out
    assert "+33612345678" not in out.out and str(sms_file) in out.err
    cli.main(["sms"])
    assert capsys.readouterr().out.count("=== ") == 2


def test_the_development_commands_come_from_the_devtools_entry_point():
    """The chassis CLI finds them through the guichet.commands group (it imports no guichet_devtools itself)."""
    import argparse
    from importlib.metadata import entry_points

    from guichet_devtools import cli as devtools_cli

    [entry] = [e for e in entry_points(group="guichet.commands") if e.value.startswith("guichet_devtools")]
    assert entry.load() is devtools_cli.register
    sub = argparse.ArgumentParser().add_subparsers()
    devtools_cli.register(sub)
    assert set(sub.choices) == {"run", "mailcatcher", "mail", "sms"}

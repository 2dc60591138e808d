"""Email messages and the SMTP client, against a real local aiosmtpd server."""
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from guichet_notifications.adapters.email import (
    Attachment,
    EmailIdentity,
    InvalidEmailAddress,
    OutgoingEmail,
    RateLimitedEmailClient,
    RecordingEmailClient,
    SmtpConfig,
    SmtpEmailClient,
    build_message,
    validate_email_address,
)
from guichet_notifications.domain.delivery import (
    NotificationStatus,
    PermanentFailure,
    TechnicalFailure,
    TemporaryFailure,
)
from guichet_notifications.domain.rate_limit import RateLimiter

IDENTITY = EmailIdentity(address="ne-pas-repondre@quievrechain.example", name="Mairie de Quiévrechain",
                         reply_to="contact@quievrechain.example",
                         message_id_domain="notifications.quievrechain.example")
TEXT = "Bonjour,\n\nNous avons bien reçu votre paiement.\n"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def receipt_email(**overrides):
    values = dict(to="pascal.dupin@example.fr", subject="Reçu de votre paiement de 12,50 € – facture n° 602624",
                  text=TEXT, html="<p>Nous avons bien reçu votre paiement.</p>",
                  essential=True, reference="0f3c2a9e-notif-1",
                  attachments=(Attachment("reçu-602624.pdf", PDF),))
    values.update(overrides)
    return OutgoingEmail(**values)


def reminder_email(**overrides):
    values = dict(to="pascal.dupin@example.fr", subject="Rappel : sortir vos encombrants",
                  text="Rappel.\n", html="<p>Rappel.</p>", essential=False, reference="notif-2",
                  unsubscribe_url="https://demarches.example.fr/desabonnement/abc")
    values.update(overrides)
    return OutgoingEmail(**values)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


# --- building messages -------------------------------------------------------------------

def test_essential_message_headers_and_structure():
    now = dt.datetime(2026, 11, 25, 13, 30, tzinfo=dt.timezone.utc)
    msg = parse(build_message(receipt_email(), IDENTITY, now=now).as_bytes())
    assert msg["From"].addresses[0].display_name == "Mairie de Quiévrechain"
    assert msg["From"].addresses[0].addr_spec == "ne-pas-repondre@quievrechain.example"
    assert msg["To"] == "pascal.dupin@example.fr"
    assert msg["Reply-To"] == "contact@quievrechain.example"
    assert msg["Subject"] == "Reçu de votre paiement de 12,50 € – facture n° 602624"
    assert msg["Date"] == "Wed, 25 Nov 2026 13:30:00 +0000"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@notifications.quievrechain.example>")
    assert "0f3c2a9e-notif-1" in msg["Message-ID"]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Guichet-Notification"] == "0f3c2a9e-notif-1"
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    # canonical MIME text: CRLF line ends
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "reçu-602624.pdf"
    assert attachment.get_content() == PDF


def test_non_essential_message_can_be_unsubscribed_in_one_click():
    msg = build_message(reminder_email(unsubscribe_mailto="desabonnement@quievrechain.example"), IDENTITY)
    assert msg["List-Unsubscribe"] == ("<https://demarches.example.fr/desabonnement/abc>, "
                                       "<mailto:desabonnement@quievrechain.example?subject=unsubscribe>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"


def test_non_essential_message_without_unsubscribe_link_is_a_bug():
    with pytest.raises(TechnicalFailure):
        build_message(reminder_email(unsubscribe_url=None), IDENTITY)
    with pytest.raises(TechnicalFailure):
        build_message(reminder_email(unsubscribe_url="http://insecure.example.fr/u"), IDENTITY)


def test_text_only_message():
    msg = build_message(receipt_email(html=None, attachments=()), IDENTITY)
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"


def test_wire_format():
    raw = build_message(receipt_email(text="x" * 2000 + "\n"), IDENTITY).as_bytes()
    assert b"\r\n" in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize("subject", [
    "Rappel : sortir vos encombrants dans la rue le mercredi 25 novembre 2026",  # fits on a continuation line
    "Réinitialisation de votre mot de passe – Mairie de Quiévrechain, portail des démarches en ligne",
])
def test_subject_reads_back_exactly(subject):
    raw = build_message(receipt_email(subject=subject), IDENTITY).as_bytes()
    assert parse(raw)["Subject"] == subject
    assert all(len(word) <= 75 for word in raw.split() if word.startswith(b"=?"))  # RFC 2047


@pytest.mark.parametrize("address, expected", [
    ("jean.dupont@example.fr", "jean.dupont@example.fr"),
    (" Jean.Dupont+mairie@Example.FR ", "Jean.Dupont+mairie@example.fr"),
    ("contact@mairie-quiévrechain.fr", "contact@xn--mairie-quivrechain-kwb.fr"),
])
def test_valid_addresses(address, expected):
    assert validate_email_address(address) == expected


@pytest.mark.parametrize("address", ["", "jean", "jean@", "@example.fr", "jean@example", "jean dupont@example.fr",
                                     "jean@@example.fr", "jean..dupont@example.fr", "jean@-example.fr",
                                     "jean@example.fr\r\nBcc: x@y.fr", "élodie@example.fr", None])
def test_invalid_addresses_are_permanent_failures(address):
    with pytest.raises(InvalidEmailAddress) as info:
        validate_email_address(address)
    assert isinstance(info.value, PermanentFailure) and info.value.code == "invalid_email_address"


# --- a real SMTP server ----------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    """Accepts everything except the recipients and DATA answers it is told to refuse."""

    def __init__(self):
        self.messages = []
        self.rcpt_replies = {}   # local part -> reply
        self.data_replies = []   # replies to the next DATA commands

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.split("@")[0])
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "raw": envelope.original_content, "peer": session.peer,
                              "tls": session.ssl is not None, "auth": session.authenticated})
        return "250 2.0.0 Ok: queued as 4F3A2"


@pytest.fixture
def smtp_server():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.stop()


def client_for(controller, **config):
    return SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port,
                                      security=config.pop("security", "none"), timeout=5, **config), IDENTITY)


def test_sends_through_smtp(smtp_server):
    handler, controller = smtp_server
    client = client_for(controller)
    receipt = client.send(receipt_email())
    client.close()
    assert receipt.status == NotificationStatus.SENT and receipt.provider == "smtp"
    assert receipt.detail == "250 2.0.0 Ok: queued as 4F3A2"
    [received] = handler.messages
    assert received["from"] == "ne-pas-repondre@quievrechain.example"
    assert received["to"] == ["pascal.dupin@example.fr"]
    msg = parse(received["raw"])
    assert msg["Message-ID"] == receipt.reference
    assert msg["List-Unsubscribe"] is None
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["reçu-602624.pdf"]
    assert attachments[0].get_content() == PDF
    assert "Nous avons bien reçu votre paiement." in msg.get_body(("html",)).get_content()


def test_list_unsubscribe_only_for_non_essential(smtp_server):
    handler, controller = smtp_server
    client = client_for(controller)
    client.send(receipt_email(attachments=()))
    client.send(reminder_email())
    client.close()
    essential, optional = (parse(m["raw"]) for m in handler.messages)
    assert "List-Unsubscribe" not in essential and "List-Unsubscribe-Post" not in essential
    assert optional["List-Unsubscribe"] == "<https://demarches.example.fr/desabonnement/abc>"
    assert optional["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert essential["Message-ID"] != optional["Message-ID"]


def test_envelope_sender_for_bounces(smtp_server):
    handler, controller = smtp_server
    identity = EmailIdentity(address="ne-pas-repondre@quievrechain.example", name="Mairie",
                             envelope_from="bounces@quievrechain.example")
    client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="none"), identity)
    client.send(receipt_email())
    client.close()
    assert handler.messages[0]["from"] == "bounces@quievrechain.example"


def test_451_is_a_temporary_failure(smtp_server):
    handler, controller = smtp_server
    handler.rcpt_replies["greylisted"] = "451 4.7.1 <greylisted@example.fr>: Greylisted, try again later"
    client = client_for(controller)
    with pytest.raises(TemporaryFailure) as info:
        client.send(receipt_email(to="greylisted@example.fr"))
    assert info.value.smtp_code == 451 and info.value.code == "smtp_temporary"
    assert "greylisted@example.fr" not in str(info.value)  # no personal data in failure reasons
    assert handler.messages == []


def test_550_is_a_permanent_failure(smtp_server):
    handler, controller = smtp_server
    handler.rcpt_replies["inconnu"] = "550 5.1.1 <inconnu@example.fr>: Recipient address rejected: User unknown"
    client = client_for(controller)
    with pytest.raises(PermanentFailure) as info:
        client.send(receipt_email(to="inconnu@example.fr"))
    assert info.value.smtp_code == 550 and info.value.code == "smtp_rejected"
    assert "User unknown" in info.value.detail and "inconnu@" not in info.value.detail
    # the client keeps working for the next recipient
    client.send(receipt_email())
    client.close()
    assert len(handler.messages) == 1


def test_data_451_then_250_delivers_once_on_retry(smtp_server):
    handler, controller = smtp_server
    handler.data_replies = ["451 4.3.0 Temporary queue failure"]
    client = client_for(controller)
    with pytest.raises(TemporaryFailure):
        client.send(receipt_email())
    client.send(receipt_email())
    client.close()
    assert len(handler.messages) == 1


def test_data_554_is_permanent(smtp_server):
    handler, controller = smtp_server
    handler.data_replies = ["554 5.7.1 Message rejected as spam"]
    with pytest.raises(PermanentFailure) as info:
        client_for(controller).send(receipt_email())
    assert info.value.smtp_code == 554


def test_connection_refused_is_temporary():
    client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout=2), IDENTITY)
    with pytest.raises(TemporaryFailure) as info:
        client.send(receipt_email())
    assert info.value.code == "connection_error"


def test_silent_server_times_out_as_temporary():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts the TCP connection, never greets
        client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=server.getsockname()[1], security="none",
                                            timeout=0.3), IDENTITY)
        with pytest.raises(TemporaryFailure):
            client.send(receipt_email())


def test_connections_are_reused(smtp_server):
    handler, controller = smtp_server
    client = client_for(controller)
    for _ in range(3):
        client.send(receipt_email(attachments=()))
    client.close()
    assert len({m["peer"] for m in handler.messages}) == 1


def test_connection_closed_by_the_server_while_idle_is_replaced():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), timeout=0.3)
    controller.start()
    try:
        client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="none",
                                            idle_check_after=0.1), IDENTITY)
        client.send(receipt_email(attachments=()))
        time.sleep(0.8)  # the server drops the idle connection
        client.send(receipt_email(attachments=()))
        client.close()
    finally:
        controller.stop()
    assert len(handler.messages) == 2
    assert handler.messages[0]["peer"] != handler.messages[1]["peer"]


# --- TLS and authentication ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return str(cert_file), context


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"guichet" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


def test_starttls_and_login(certificate):
    ca_file, context = certificate
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="starttls",
                                            username="guichet", password="s3cret", ca_file=ca_file), IDENTITY)
        client.send(receipt_email())
        client.close()
        bad = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="starttls",
                                         username="guichet", password="wrong", ca_file=ca_file), IDENTITY)
        with pytest.raises(TemporaryFailure) as info:  # our settings, not the recipient: retried
            bad.send(receipt_email())
        assert info.value.code == "smtp_authentication"
        untrusted = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="starttls",
                                               username="guichet", password="s3cret"), IDENTITY)
        with pytest.raises(TemporaryFailure) as info:  # certificate not trusted: nothing sent in clear
            untrusted.send(receipt_email())
        assert info.value.code == "tls_error"
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert handler.messages[0]["tls"] and handler.messages[0]["auth"]


def test_implicit_tls(certificate):
    ca_file, context = certificate
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        client = SmtpEmailClient(SmtpConfig(host="127.0.0.1", port=controller.port, security="tls",
                                            ca_file=ca_file), IDENTITY)
        client.send(receipt_email())
        client.close()
    finally:
        controller.stop()
    assert len(handler.messages) == 1


def test_config_validation():
    with pytest.raises(ValueError):
        SmtpConfig(security="ssl")
    with pytest.raises(ValueError):
        SmtpConfig(username="guichet")
    assert "s3cret" not in repr(SmtpConfig(username="guichet", password="s3cret"))


# --- test mode and rate limits ------------------------------------------------------------------------

def test_test_mode_records_and_sends_nothing():
    client = RecordingEmailClient(IDENTITY, failures=[ConnectionRefusedError()])
    with pytest.raises(TemporaryFailure):
        client.send(receipt_email())
    receipt = client.send(reminder_email())
    assert receipt.status == NotificationStatus.DELIVERED and receipt.provider == "test-mode"
    [(outgoing, msg)] = client.outbox
    assert outgoing.to == "pascal.dupin@example.fr"
    assert msg["Message-ID"] == receipt.reference and msg["List-Unsubscribe"]
    with pytest.raises(InvalidEmailAddress):
        client.send(receipt_email(to="pas-une-adresse"))


def test_rate_limited_client():
    clock = [0.0]
    limiter = RateLimiter(rate=1, capacity=1, clock=lambda: clock[0])
    client = RateLimitedEmailClient(RecordingEmailClient(IDENTITY), limiter)
    client.send(receipt_email())
    with pytest.raises(TemporaryFailure) as info:
        client.send(receipt_email())
    assert info.value.code == "rate_limited" and info.value.retry_after == pytest.approx(1.0)
    clock[0] += 1
    client.send(receipt_email())
    assert len(client.client.outbox) == 2


# --- templates and client together -------------------------------------------------------------------

def test_rendered_receipt_and_reminder_through_smtp(smtp_server):
    from guichet_notifications.domain.templates import TownBranding

    from .. import factories

    handler, controller = smtp_server
    catalog = factories.catalog()
    renderer = factories.renderer(TownBranding(name="Mairie de Quiévrechain", phone="03 27 00 00 00"))
    client = client_for(controller)
    unsubscribe = "https://demarches.quievrechain.example/desabonnement/abc"

    receipt_template = catalog.get_template("payment_receipt")
    rendered = renderer.render_email(receipt_template, {
        "amount_cents": 1250, "invoice_number": "602624", "regie_name": "Régie Périscolaire",
        "paid_at": "2026-11-25T13:30:00Z"}, unsubscribe_url=unsubscribe)
    client.send(OutgoingEmail.from_rendered("pascal.dupin@example.fr", rendered,
                                            essential=receipt_template.essential, reference="n-1",
                                            unsubscribe_url=unsubscribe,
                                            attachments=(Attachment("recu-602624.pdf", PDF),)))
    reminder_template = catalog.get_template("reminder")
    rendered = renderer.render_email(reminder_template, {"action": "sortir vos encombrants dans la rue",
                                                         "date": "2026-11-25"}, unsubscribe_url=unsubscribe)
    client.send(OutgoingEmail.from_rendered("pascal.dupin@example.fr", rendered,
                                            essential=reminder_template.essential, reference="n-2",
                                            unsubscribe_url=unsubscribe))
    client.close()

    receipt, reminder = (parse(m["raw"]) for m in handler.messages)
    assert receipt["Subject"] == "Reçu de votre paiement de 12,50 € – facture n° 602624"
    assert receipt["From"].addresses[0].display_name == "Mairie de Quiévrechain"
    assert "Montant payé : 12,50 €" in receipt.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" not in receipt
    assert [a.get_content() for a in receipt.iter_attachments()] == [PDF]
    assert reminder["Subject"] == "Rappel : sortir vos encombrants dans la rue le mercredi 25 novembre 2026"
    assert reminder["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert unsubscribe in reminder.get_body(("plain",)).get_content()

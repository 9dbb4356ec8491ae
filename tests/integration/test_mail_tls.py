"""Sending over TLS against a real SMTP server (aiosmtpd with a certificate made here):
STARTTLS on submission (smtp://…:587) and TLS from the start (smtps://…:465) deliver and
log in only once encrypted; a certificate the machine does not trust, or a server that
offers no STARTTLS, stops the session before the password is sent."""

from __future__ import annotations

import datetime
import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import mail
from tests.integration.mail_support import Handler, free_port

pytestmark = pytest.mark.timeout(60)

USER, PASSWORD = "framdrift", "s3cret-smtp-password"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "framdrift test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Logins:
    """The server's authenticator: which logins it saw, and whether each came over TLS."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else ""
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else ""
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((login, encrypted))
        return AuthResult(success=(login, password) == (USER, PASSWORD))


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _start(certificate: tuple[Path, Path] | None, *, implicit: bool = False,
           host: str = "127.0.0.1") -> tuple[Controller, Handler, Logins, int]:
    handler, logins, port = Handler(), Logins(), free_port()
    kwargs: dict[str, Any] = {"authenticator": logins, "auth_require_tls": False}
    if certificate is not None and implicit:
        kwargs["ssl_context"] = _server_context(certificate)
    elif certificate is not None:
        kwargs.update(tls_context=_server_context(certificate), require_starttls=True)
    controller = Controller(handler, hostname=host, port=port, **kwargs)
    controller.start()
    return controller, handler, logins, port


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "noreply@testby.se", "eva@example.org"
    message["Subject"] = "Inbjudan"
    message.set_content("Hej!")
    return message


def _send(url: str) -> None:
    settings = mail.smtp_settings(url, "Framdrift <noreply@testby.se>")
    assert settings is not None
    connection = mail._Connection(settings)
    try:
        connection.send(_message())
    finally:
        connection.close()


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
def test_a_trusted_server_gets_the_message_and_the_login_only_over_tls(
        certificate, monkeypatch, implicit) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the machine trusts it
    controller, handler, logins, port = _start(certificate, implicit=implicit)
    try:
        _send(f"{'smtps' if implicit else 'smtp'}://{USER}:{PASSWORD}@127.0.0.1:{port}")
    finally:
        controller.stop()
    assert [str(m["Subject"]) for m in handler.messages] == ["Inbjudan"]
    assert logins.seen == [(USER, True)]


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
def test_a_certificate_the_machine_does_not_trust_stops_before_the_password(
        certificate, monkeypatch, implicit) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's CAs only
    controller, handler, logins, port = _start(certificate, implicit=implicit)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            _send(f"{'smtps' if implicit else 'smtp'}://{USER}:{PASSWORD}@127.0.0.1:{port}")
    finally:
        controller.stop()
    assert handler.messages == [] and logins.seen == []


def test_a_remote_server_without_starttls_never_gets_the_password() -> None:
    """Only a relay on this machine may take a log-in in clear (README, E-mail)."""
    controller, handler, logins, port = _start(None, host="127.0.0.2")
    try:
        with pytest.raises(smtplib.SMTPException, match="not sent in clear"):
            _send(f"smtp://{USER}:{PASSWORD}@127.0.0.2:{port}")
    finally:
        controller.stop()
    assert handler.messages == [] and logins.seen == []

"""Settings for a real cluster: Temporal over (m)TLS with a private CA and a server name,
Postgres over TLS, an SMTP relay with STARTTLS or TLS and authentication.

Temporal: the connect arguments are built from the settings (no real cluster here). Postgres:
the SSL contexts per mode, and the real embedded Postgres (built without SSL) asked for TLS by
the product's engine (db/session.py). SMTP: a real relay (aiosmtpd) with a certificate from a
private CA made here, STARTTLS or implicit TLS, and AUTH, reached through the product's letter
channel (mail/channel.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text
from temporalio.client import TLSConfig

from db.session import connect_args, make_engine, ssl_context
from mail.channel import EmailChannel, OutgoingLetter
from settings import SettingFileError, Settings
from stack.ports import HOST, free_port
from stack.postgres import EmbeddedPostgres
from temporal_client import connect, tls_config
from tests.test_stack import shared_tmp_dir


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


# -- certificates -----------------------------------------------------------------------------


@dataclass
class Pki:
    """A private CA and one server certificate it signed (for 127.0.0.1 and localhost)."""

    folder: Path
    ca: Path = field(init=False)
    cert: Path = field(init=False)
    key: Path = field(init=False)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Erhverv test CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca, self.cert, self.key = (self.folder / n for n in ("ca.pem", "cert.pem", "key.pem"))
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.key.chmod(0o600)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture
def pki(tmp_path) -> Pki:
    return Pki(tmp_path / "pki")


# -- Temporal -----------------------------------------------------------------------------


def test_temporal_plain_or_system_trust_store_by_default():
    assert tls_config(settings()) is False
    assert tls_config(settings(temporal_tls=True)) is True


def test_temporal_mtls_private_ca_and_server_name(pki):
    config = tls_config(
        settings(
            temporal_tls=True,
            temporal_tls_cert=pki.cert,
            temporal_tls_key=pki.key,
            temporal_tls_server_ca=pki.ca,
            temporal_tls_server_name="temporal-frontend.temporal.svc",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.client_cert == pki.cert.read_bytes()
    assert config.client_private_key == pki.key.read_bytes()
    assert config.server_root_ca_cert == pki.ca.read_bytes()
    assert config.domain == "temporal-frontend.temporal.svc"


def test_temporal_private_ca_alone_turns_tls_on(pki):
    config = tls_config(settings(temporal_tls_server_ca=pki.ca))
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == pki.ca.read_bytes()
    assert config.client_cert is None and config.client_private_key is None
    assert config.domain is None


def test_temporal_missing_files_name_the_setting(pki, tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(SettingFileError, match=r"ERHVERV_TEMPORAL_TLS_SERVER_CA: .*nope\.pem"):
        tls_config(settings(temporal_tls_server_ca=missing))
    with pytest.raises(SettingFileError, match="ERHVERV_TEMPORAL_TLS_KEY"):
        tls_config(settings(temporal_tls_cert=pki.cert, temporal_tls_key=missing))
    with pytest.raises(SettingFileError, match="ERHVERV_TEMPORAL_TLS_CERT is set without"):
        tls_config(settings(temporal_tls_cert=pki.cert))
    with pytest.raises(SettingFileError, match="ERHVERV_TEMPORAL_TLS_KEY is set without"):
        tls_config(settings(temporal_tls_key=pki.key))


async def test_temporal_connect_reports_the_missing_file_before_dialling(tmp_path):
    # The address answers nothing: the settings error comes first, naming the setting.
    s = settings(
        temporal_address=f"{HOST}:{free_port()}", temporal_tls_server_ca=tmp_path / "ca.pem"
    )
    with pytest.raises(SettingFileError, match="ERHVERV_TEMPORAL_TLS_SERVER_CA"):
        await connect(s)


def test_worker_shutdown_grace_is_a_bounded_setting():
    assert settings().worker_shutdown_grace_seconds == 20.0
    assert settings(worker_shutdown_grace_seconds=0).worker_shutdown_grace_seconds == 0
    with pytest.raises(ValueError, match="worker_shutdown_grace_seconds"):
        settings(worker_shutdown_grace_seconds=-1)


def test_worker_cached_cases_is_a_bounded_setting():
    """At least one case cached: a worker caching nothing stalls every local record 10 s."""
    assert settings().worker_cached_cases == 2000
    assert settings(worker_cached_cases=1).worker_cached_cases == 1
    for bad in (0, -5, 200_001):
        with pytest.raises(ValueError, match="worker_cached_cases"):
            settings(worker_cached_cases=bad)


# -- Postgres over TLS ----------------------------------------------------------------------


def test_postgres_ssl_modes(pki, tmp_path):
    assert ssl_context(settings()) is None and connect_args(settings()) == {}
    require = ssl_context(settings(database_ssl_mode="require"))
    assert require.verify_mode == ssl.CERT_NONE and not require.check_hostname
    require_ca = ssl_context(settings(database_ssl_mode="require", database_ssl_root_cert=pki.ca))
    assert require_ca.verify_mode == ssl.CERT_REQUIRED and not require_ca.check_hostname
    full = ssl_context(settings(database_ssl_mode="verify-full", database_ssl_root_cert=pki.ca))
    assert full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname
    assert [c["subject"] for c in full.get_ca_certs()] == [((("commonName", "Erhverv test CA"),),)]
    assert connect_args(settings(database_ssl_mode="verify-full"))["ssl"].check_hostname
    with pytest.raises(SettingFileError, match="ERHVERV_DATABASE_SSL_ROOT_CERT: .*gone\\.pem"):
        ssl_context(settings(database_ssl_mode="verify-full",
                             database_ssl_root_cert=tmp_path / "gone.pem"))  # fmt: skip
    with pytest.raises(ValueError, match="database_ssl_mode"):
        settings(database_ssl_mode="prefer")


@pytest.fixture(scope="module")
def postgres():
    with shared_tmp_dir("pgtls") as folder:
        pg = EmbeddedPostgres(folder / "pgdata", free_port(), runtime_dir=folder / "run")
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()


async def select_one(url: str, s: Settings) -> int:
    engine = make_engine(url, s)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar_one()
    finally:
        await engine.dispose()


async def test_postgres_tls_setting_reaches_the_wire(postgres, pki):
    """The embedded Postgres is built without SSL: the product's engine asks it for TLS as
    soon as a mode is set (and is refused), and connects in plain with "disable"."""
    assert await select_one(postgres.url, settings()) == 1
    for mode in ("require", "verify-full"):
        s = settings(database_ssl_mode=mode, database_ssl_root_cert=pki.ca)
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            await select_one(postgres.url, s)


# -- SMTP relay: STARTTLS / TLS and AUTH ----------------------------------------------------


@dataclass
class Relay:
    """aiosmtpd handler that keeps what it accepted and who logged in."""

    logins: list[str] = field(default_factory=list)
    received: list[tuple[str, list[str]]] = field(default_factory=list)  # Message-ID, RCPT

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login == b"erhverv" and auth_data.password == b"relay-secret"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # a refusal: the server answers 535

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        message_id = next(
            line.split(b":", 1)[1].strip().decode()
            for line in raw.splitlines()
            if line.lower().startswith(b"message-id:")
        )
        self.received.append((message_id, list(envelope.rcpt_tos)))
        return "250 OK"


def relay(pki: Pki, handler: Relay, implicit_tls: bool) -> tuple[Controller, int]:
    port = free_port()
    # Implicit TLS: the whole connection is encrypted (aiosmtpd's auth_require_tls knows
    # STARTTLS only). STARTTLS: AUTH is offered only after it.
    tls = {"ssl_context": pki.server_context(), "auth_require_tls": False} if implicit_tls else {
        "tls_context": pki.server_context(), "require_starttls": True, "auth_require_tls": True}  # fmt: skip
    controller = Controller(
        handler, hostname=HOST, port=port, authenticator=handler.authenticate,
        auth_required=True, **tls,
    )  # fmt: skip
    controller.start()
    return controller, port


LETTER = OutgoingLetter(
    "<relay-test@erhvervssag.kommune.example>", ["jens@firma.dk"], "Kvittering", "Tak."
)


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls-587", "tls-465"])
async def test_smtp_relay_with_tls_and_authentication(pki, monkeypatch, implicit_tls):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))  # the relay's CA, as a system store would
    handler = Relay()
    controller, port = relay(pki, handler, implicit_tls)
    try:
        base = {"smtp_host": HOST, "smtp_port": port, "smtp_starttls": not implicit_tls,
                "smtp_use_tls": implicit_tls, "smtp_timeout_seconds": 10}  # fmt: skip
        good = settings(**base, smtp_username="erhverv", smtp_password="relay-secret")
        await EmailChannel(good).deliver(LETTER)
        assert handler.logins == ["erhverv"]
        assert handler.received == [(LETTER.message_id, ["jens@firma.dk"])]

        wrong = settings(**base, smtp_username="erhverv", smtp_password="not-it")
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await EmailChannel(wrong).deliver(LETTER)
        with pytest.raises(aiosmtplib.SMTPResponseException):  # the relay wants AUTH
            await EmailChannel(settings(**base)).deliver(LETTER)
        assert len(handler.received) == 1
    finally:
        controller.stop()


async def test_smtp_starttls_refuses_a_relay_from_an_unknown_ca(pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(Pki(tmp_path / "other").ca))
    handler = Relay()
    controller, port = relay(pki, handler, implicit_tls=False)
    try:
        s = settings(smtp_host=HOST, smtp_port=port, smtp_starttls=True,
                     smtp_username="erhverv", smtp_password="relay-secret")  # fmt: skip
        with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError)):
            await EmailChannel(s).deliver(LETTER)
        assert handler.received == [] and handler.logins == []
    finally:
        controller.stop()

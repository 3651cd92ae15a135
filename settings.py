"""One settings class for every process (worker, starter, stack, tests).

Read from environment variables prefixed ``ERHVERV_`` (and an optional ``.env`` file), so the
same code runs against the embedded development stack and against a real Temporal cluster,
a managed Postgres and a real SMTP server with no code change. See README "Configuration".
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import EmailStr, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ERHVERV_", env_file=".env", extra="ignore", frozen=True
    )

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "erhvervssag"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: SecretStr | None = None
    # A private CA that signed the frontend's certificate (PEM; empty: the system trust store)
    # and the name to expect in it when it differs from the address's host (SNI override).
    temporal_tls_server_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_ui_port: int = 8233
    # On SIGTERM the worker stops polling and gives the activities it runs this long to finish
    # (then they are cancelled and retried elsewhere); process managers must wait longer.
    worker_shutdown_grace_seconds: float = Field(20.0, ge=0, le=3600)
    # Open cases the worker keeps in memory (its workflow cache; about 150-220 KiB each, bench
    # M4). A case not in it is replayed from its history on its next event (bench M3 "cold").
    # Aalborg has about 1,200 open cases at once: the default holds them all. At least 1: a
    # worker caching nothing cannot hold a case while its local record activity runs.
    worker_cached_cases: int = Field(2000, ge=1, le=200_000)

    # Postgres (SQLAlchemy async URL, asyncpg driver). TLS (db/session.py `connect_args`):
    # "disable" adds nothing (the URL's ?ssl=... decides), "require" encrypts (and checks the
    # CA when database_ssl_root_cert is set), "verify-full" checks the CA (the root cert file,
    # else the system trust store) and the host name.
    database_url: str = "postgresql+asyncpg://erhverv@127.0.0.1:55432/erhverv"
    database_ssl_mode: Literal["disable", "require", "verify-full"] = "disable"
    database_ssl_root_cert: Path | None = None

    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 30.0

    # Letters
    mail_from: str = "Erhvervsservice <erhvervsservice@kommune.example>"
    message_id_domain: str = "erhvervssag.kommune.example"
    municipality_name: str = "Aalborg Kommune"
    caseworker_team_email: EmailStr = "sagsbehandlere@kommune.example"
    team_lead_email: EmailStr = "teamleder@kommune.example"

    # Working-day calendar: municipal closing days (bridge days) besides the public holidays,
    # e.g. ERHVERV_CLOSING_DAYS='["2026-05-15"]'
    closing_days: list[date] = Field(default_factory=list)

    # The case's life (issue 4)
    review_working_days_before: int = Field(5, ge=0, le=60)  # review deadline before agreed date
    dismissal_warning_working_days: int = Field(20, ge=1)  # waiting for material until the warning
    dismissal_after_warning_working_days: int = Field(10, ge=1)  # warning until dismissal
    reopen_working_days: int = Field(10, ge=0)  # least time for re-opened reviews
    history_window: int = Field(200, ge=1)  # recent decided cases behind the estimate

    # The satisfaction survey: a stable, signed link per case (answer page: a later issue)
    survey_base_url: str = "http://127.0.0.1:8000"
    survey_secret: SecretStr = SecretStr("dev-only-change-me")
    # The survey workflow per closed case (issue 9, docs/survey.md): one reminder after this
    # many Danish working days without an answer; answers accepted for this many calendar days.
    survey_reminder_working_days: int = Field(5, ge=1, le=60)
    survey_open_days: int = Field(30, ge=1, le=365)
    # The monthly report (commitment 10, docs/report.md): e-mailed with its PDF to the business
    # organisations' contacts, e.g. ERHVERV_REPORT_RECIPIENTS='["dialog@erhverv.example"]'.
    report_recipients: list[EmailStr] = Field(
        default_factory=lambda: ["erhvervsorganisationer@erhverv.example"], min_length=1
    )

    # The web service (`python -m web`, FastAPI on uvicorn)
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # The public address of the web entry, as companies reach it: the letters' guidance links
    # lead there (empty: the municipality's general guidance links only).
    public_base_url: str = "http://127.0.0.1:8000"
    # Staff sessions: the cookie is signed with this secret (set a real one in production).
    web_secret: SecretStr = SecretStr("dev-only-change-me-web")
    # The Temporal UI's origin, the only one whose browser calls the codec server (/codec,
    # docs/codec-server.md) may make, with credentials; empty: http://127.0.0.1:<temporal_ui_port>.
    temporal_ui_origin: str = ""
    # The dev stack's sign-in that picks a person from the caseworker directory; never in
    # production (staff sign in with OpenID Connect there).
    dev_sign_in: bool = False
    # Caseworker ids with the operator role (restart reviews, refresh rosters, any handover).
    operators: list[str] = Field(default_factory=list)
    # The dev stack's mail-sink page (/dev/post: the mails the SMTP sink stored); never in
    # production (`./dev up` turns it on).
    mail_sink_page: bool = False
    # The company's own case page (web/company, docs/company-page.md): the signed link in
    # the letters (/sag?t=...) is signed with this secret (empty: the web secret) and works
    # for this many days; uploads are limited to this size and stored in Postgres, or in
    # this folder when it is set.
    company_link_secret: SecretStr = SecretStr("")
    company_link_days: int = Field(90, ge=1, le=3650)
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    upload_dir: Path | None = None
    # Staff sign-in with OpenID Connect (web/oidc.py, docs/sign-in.md): the identity provider's
    # issuer (its discovery document is at <issuer>/.well-known/openid-configuration; empty:
    # no OpenID Connect sign-in), this service's client id and secret there, the scopes, and
    # which claim names the caseworker: its value is matched against the directory's e-mail
    # (oidc_caseworker_match "email") or is the caseworker id itself ("id").
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid email profile"
    oidc_caseworker_claim: str = "email"
    oidc_caseworker_match: Literal["email", "id"] = "email"
    # The address the identity providers send the browser back to (…/auth/callback,
    # …/auth/virksomhed/callback); empty: public_base_url.
    oidc_redirect_base: str = ""
    # Companies sign in with MitID Erhverv through a NemLog-in / broker OpenID provider; the
    # claim holding the company's CVR number (OIOSAML 3 / NemLog-in attribute name).
    company_oidc_issuer: str = ""
    company_oidc_client_id: str = ""
    company_oidc_client_secret: SecretStr = SecretStr("")
    company_oidc_scopes: str = "openid"
    company_oidc_cvr_claim: str = "https://data.gov.dk/model/core/eid/professional/cvr"

    # Payload encryption (schemas/codec.py, docs/encryption.md): every payload Temporal stores
    # is AES-256-GCM ciphertext. A keyring of key id -> base64 of 32 random bytes; new payloads
    # use payload_key_id, every listed key decrypts (rotation: add a key, make it active, keep
    # the old ones while histories sealed with them are kept). The "dev-1" key below is
    # DEV-ONLY (it is public in this repository); production sets its own, e.g.
    # ERHVERV_PAYLOAD_KEYS='{"2026-11": "<base64>"}' ERHVERV_PAYLOAD_KEY_ID=2026-11
    payload_key_id: str = "dev-1"
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev-1": SecretStr("YJJ+iW5P5TIpB2S6L8Nnb6X3JVQTsGycpVCXzzA4rIE=")}
    )

    # Retention (docs/encryption.md "Erasure"): a closed case's personal data is erased this
    # many months after it closed, by a daily Temporal Schedule (erhverv-retention) at
    # retention_hour (Copenhagen time). The anonymous facts behind the figures stay.
    retention_months: int = Field(36, ge=1, le=600)
    retention_hour: int = Field(3, ge=0, le=23)

    # Metrics and health (docs/deployment.md "Metrics"): the worker's Temporal SDK runtime
    # exports its Prometheus metrics on this host:port (empty: off); the worker's own HTTP
    # endpoint (/healthz, /readyz, /metrics with the product's counters) listens on
    # worker_health_host:worker_health_port (0: off). The web service's /metrics computes the
    # product's gauges from Postgres at most once per metrics_cache_seconds.
    worker_metrics_address: str = "127.0.0.1:9464"
    worker_health_host: str = "127.0.0.1"
    worker_health_port: int = Field(8001, ge=0, le=65535)
    metrics_cache_seconds: float = Field(5.0, ge=0, le=300)

    # Caseworker directory seeded into Postgres at start (JSON list of caseworkers)
    caseworkers_file: Path = ROOT / "config" / "caseworkers.json"

    # Embedded development stack
    state_dir: Path = ROOT / ".state"
    log_level: str = "INFO"
    log_json: bool = True

    # Keyring errors are raised as PayloadKeyError (not ValueError), so they pass pydantic
    # unwrapped: its error text would repeat the input, i.e. the keys.
    @field_validator("payload_keys", mode="after")
    @classmethod
    def _payload_keys_are_keys(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        from schemas.codec import PayloadKeyError, decode_key

        if not keys:
            raise PayloadKeyError("The payload keyring (ERHVERV_PAYLOAD_KEYS) is empty")
        for key_id, secret in keys.items():
            decode_key(key_id, secret.get_secret_value())
        return keys

    @model_validator(mode="after")
    def _active_payload_key_listed(self) -> Settings:
        from schemas.codec import PayloadKeyError

        if self.payload_key_id not in self.payload_keys:
            raise PayloadKeyError(
                f"ERHVERV_PAYLOAD_KEY_ID {self.payload_key_id!r} is not in the keyring "
                f"ERHVERV_PAYLOAD_KEYS ({', '.join(sorted(self.payload_keys))})"
            )
        return self


class SettingFileError(Exception):
    """A file a setting names cannot be read; the message names the setting."""


def read_setting_file(setting: str, path: Path) -> bytes:
    """The bytes of the file the setting *setting* (e.g. "temporal_tls_server_ca") names."""
    variable = f"ERHVERV_{setting.upper()}"
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SettingFileError(f"{variable}: the file {path} does not exist") from None
    except OSError as err:
        raise SettingFileError(
            f"{variable}: the file {path} cannot be read ({err.strerror or err})"
        ) from None


class SettingsProblem(Exception):
    """The ERHVERV_* settings cannot be used; the message names each variable and why,
    never its value (a value may be a secret)."""


def settings_problem(err: Exception) -> str:
    """One line per bad ERHVERV_* variable, without the values."""
    import re

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from schemas.codec import PayloadKeyError
    from schemas.errors import describe

    if isinstance(err, ValidationError):
        lines = []
        for line in describe(err).split("\n"):
            field, sep, reason = line.partition(": ")
            lines.append(f"ERHVERV_{field.split('.')[0].upper()}: {reason}" if sep else line)
    elif isinstance(err, SettingsError):
        found = re.search(r'field "(\w+)"', str(err))
        name = f"ERHVERV_{found.group(1).upper()}" if found else "An ERHVERV_* variable"
        lines = [f'{name}: not valid JSON (a list like \'["a", "b"]\' or an object is due)']
    elif isinstance(err, PayloadKeyError):
        text = str(err)
        lines = [text if "ERHVERV_" in text else f"ERHVERV_PAYLOAD_KEYS: {text}"]
    else:
        lines = [f"{type(err).__name__}"]
    return "The ERHVERV_* settings have errors:\n" + "\n".join(lines)


def checked_settings() -> Settings:
    """The settings, or SettingsProblem with a message for a person (the entry points)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from schemas.codec import PayloadKeyError

    try:
        return get_settings()
    except (ValidationError, SettingsError, PayloadKeyError) as err:
        raise SettingsProblem(settings_problem(err)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Connect to Temporal from settings: the dev server locally, a real cluster (TLS, API key)
in production. Every process uses the checked pydantic data converter with payload encryption
(schemas/converter.py `data_converter`, schemas/codec.py)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.runtime import Runtime

from schemas.converter import data_converter
from settings import SettingFileError, Settings, read_setting_file
from tracing import TraceClientInterceptor


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The `tls` argument for *settings*: False (plain, the dev server), True (TLS with the
    system trust store), or a TLSConfig with the client certificate and key (mTLS), a private
    server CA and/or the server name to expect. A file that cannot be read, or a certificate
    without its key, is a SettingFileError naming the setting."""
    s = settings
    if bool(s.temporal_tls_cert) != bool(s.temporal_tls_key):
        given, missing = (
            ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
            if s.temporal_tls_cert
            else ("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CERT")
        )
        raise SettingFileError(
            f"ERHVERV_{given} is set without ERHVERV_{missing} (mTLS needs both)"
        )
    if not (s.temporal_tls_cert or s.temporal_tls_server_ca or s.temporal_tls_server_name):
        return s.temporal_tls
    return TLSConfig(
        server_root_ca_cert=(
            read_setting_file("temporal_tls_server_ca", s.temporal_tls_server_ca)
            if s.temporal_tls_server_ca
            else None
        ),
        domain=s.temporal_tls_server_name or None,
        client_cert=(
            read_setting_file("temporal_tls_cert", s.temporal_tls_cert)
            if s.temporal_tls_cert
            else None
        ),
        client_private_key=(
            read_setting_file("temporal_tls_key", s.temporal_tls_key)
            if s.temporal_tls_key
            else None
        ),
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for *settings*; *runtime* e.g. `log_setup.temporal_runtime()` (the worker),
    else the SDK's default runtime."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        data_converter=data_converter(settings),
        runtime=runtime,
        interceptors=[TraceClientInterceptor()],  # trace ids into Temporal (tracing.py)
    )

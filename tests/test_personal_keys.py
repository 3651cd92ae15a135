"""Per-case data keys and sealed personal fields (personal.py, schemas/sealed.py): the
groundwork of erasure by crypto-shredding, against the real Postgres of the e2e stack,
migrated to head. Nothing here is wired into the workflows yet."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from db.personal_models import WRAPPED_KEY_BYTES, CaseDataKey, Erasure
from db.session import make_engine, make_sessionmaker
from personal import (
    ERASED_PLACEHOLDER,
    CaseKeyErased,
    CaseKeyError,
    ErasureRequestError,
    SealedValueError,
    data_key,
    erase_case_key,
    is_sealed,
    open_sealed,
    rewrap_case_keys,
    seal,
)
from schemas.codec import new_key
from schemas.sealed import PREFIX_V1, SealedOrPlain, open_with_key
from sealing import Vault
from stack.dev import prepared_settings
from tests.conftest import make_intake
from tests.test_e2e import stack  # noqa: F401 - Postgres of the dev stack

pytestmark = pytest.mark.e2e

NAME = "Søren Ærø Østergård"
EMAIL = "soeren.oestergaard@nordjysk-staal.example"
LONG = ("Vi ønsker at udvide lagerhallen mod øst; naboen på Åvej 3 er orienteret. " * 120).strip()
ROOT = Path(__file__).resolve().parent.parent
PERSONAL = [NAME, EMAIL, "98123456", LONG, "", "æøå ÆØÅ – “citat” 👷"]


def case_id() -> str:
    return f"case-PK-{uuid.uuid4().hex[:12]}"


def with_keys(settings, active: str, keys: dict[str, str]):
    """The same settings with another payload keyring (rotation, a missing key)."""
    return settings.model_copy(
        update={
            "payload_key_id": active,
            "payload_keys": {k: SecretStr(v) for k, v in keys.items()},
        }
    )


@pytest_asyncio.fixture(scope="module")
async def db(stack):  # noqa: F811
    settings = await prepared_settings(stack, f"personal-{uuid.uuid4().hex[:8]}")
    engine = make_engine(settings.database_url)
    try:
        yield settings, make_sessionmaker(engine)
    finally:
        await engine.dispose()


def assert_nothing_personal(error: BaseException, *secrets: str) -> None:
    message = str(error) + repr(error) + str(error.__cause__ or "") + str(error.__context__ or "")
    for secret in secrets:
        if secret:
            assert secret not in message


# ---------------------------------------------------------------- pure: schemas/sealed.py


def test_sealed_values_have_the_v1_shape_and_differ_each_time():
    key = bytes(range(32))
    a, b = seal(key, "case-A", NAME), seal(key, "case-A", NAME)
    assert a.startswith(PREFIX_V1) and "=" not in a and a != b
    assert is_sealed(a) and not is_sealed(NAME) and not is_sealed(None)
    assert NAME not in a and "Søren" not in a
    assert open_with_key(key, "case-A", a) == NAME


@pytest.mark.parametrize(
    "value",
    [
        "sealed:",
        "sealed:v1:",
        "sealed:v1:abc",
        "sealed:v1:" + "A" * 37,
        "sealed:v2:" + "A" * 40,
        "sealed:v1:" + "A" * 39 + "=",
        "sealed:v1:" + "A" * 40 + "!",
        "sealed:v1:" + "A" * 41,
    ],
)
def test_malformed_sealed_values_are_not_sealed(value):
    assert not is_sealed(value)
    with pytest.raises(SealedValueError, match="not a well-formed sealed value"):
        open_with_key(bytes(32), "case-A", value)


def test_sealed_or_plain_accepts_plain_and_well_formed_sealed_values_only():
    class Contact(BaseModel, hide_input_in_errors=True):
        name: SealedOrPlain

    sealed = seal(bytes(32), "case-A", NAME)
    assert Contact(name=NAME).name == NAME  # an old case's plain value
    assert Contact(name=sealed).name == sealed  # validated, never opened
    for bad in ("sealed:v1:kort", "sealed:v9:" + sealed[len(PREFIX_V1) :], "sealed:" + NAME):
        with pytest.raises(ValidationError) as refused:
            Contact(name=bad)
        assert "well-formed sealed value" in str(refused.value)
        assert_nothing_personal(refused.value, NAME, "kort")


def test_a_tampered_sealed_value_is_a_clear_error_without_its_text():
    key = bytes(32)
    sealed = seal(key, "case-A", EMAIL)
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(PREFIX_V1) :] + "=="))
    raw[-1] ^= 1
    tampered = PREFIX_V1 + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(SealedValueError, match="does not open") as refused:
        open_with_key(key, "case-A", tampered)
    assert_nothing_personal(refused.value, EMAIL, sealed)
    with pytest.raises(SealedValueError, match="does not open"):
        open_with_key(bytes([1]) * 32, "case-A", sealed)  # another key


def test_seal_refuses_a_key_that_is_not_32_bytes():
    with pytest.raises(SealedValueError, match="32 bytes"):
        seal(b"short", "case-A", NAME)


def test_checking_the_shape_imports_no_cryptography():
    """Workflow input types use SealedOrPlain; validating it must not need the crypto
    library (only sealing and opening do)."""
    code = (
        "import sys\n"
        "from pydantic import TypeAdapter\n"
        "from schemas.sealed import SealedOrPlain, is_sealed\n"
        "value = 'sealed:v1:' + 'A' * 40\n"
        "assert TypeAdapter(SealedOrPlain).validate_python(value) == value and is_sealed(value)\n"
        "assert TypeAdapter(SealedOrPlain).validate_python('Søren') == 'Søren'\n"
        "assert not any(m.split('.')[0] == 'cryptography' for m in sys.modules), 'imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------- with Postgres: personal.py


async def test_sealed_values_round_trip_through_the_case_key(db):
    settings, sessions = db
    case = case_id()
    key = await data_key(sessions, settings, case)
    assert len(key) == 32
    assert await data_key(sessions, settings, case) == key  # the same key every time
    for value in PERSONAL:
        sealed = seal(key, case, value)
        assert is_sealed(sealed)
        if value:
            assert value not in sealed
        assert await open_sealed(sessions, settings, case, sealed) == value
    async with sessions() as session:
        row = await session.get(CaseDataKey, case)
    assert row.kek_id == settings.payload_key_id and row.erased_at is None
    assert len(row.wrapped_key) == WRAPPED_KEY_BYTES and key not in row.wrapped_key


async def test_a_sealed_value_opens_only_as_its_own_cases(db):
    settings, sessions = db
    case_a, case_b = case_id(), case_id()
    sealed_a = seal(await data_key(sessions, settings, case_a), case_a, EMAIL)
    key_b = await data_key(sessions, settings, case_b)
    with pytest.raises(SealedValueError, match="does not open") as refused:
        await open_sealed(sessions, settings, case_b, sealed_a)
    assert_nothing_personal(refused.value, EMAIL, sealed_a)
    # even sealed with B's key, the associated data (the case id) binds it to B
    with pytest.raises(SealedValueError):
        await open_sealed(sessions, settings, case_a, seal(key_b, case_b, EMAIL))


async def test_plain_values_pass_through_and_need_no_key(db):
    settings, sessions = db
    case = case_id()
    for value in (NAME, EMAIL, LONG, ""):
        assert await open_sealed(sessions, settings, case, value) == value
    async with sessions() as session:
        assert await session.get(CaseDataKey, case) is None  # opening never makes a key


async def test_a_sealed_value_of_a_case_without_a_key_or_malformed_is_a_clear_error(db):
    settings, sessions = db
    case = case_id()
    sealed = seal(bytes(32), case, NAME)
    with pytest.raises(CaseKeyError, match="no data key") as refused:
        await open_sealed(sessions, settings, case, sealed)
    assert_nothing_personal(refused.value, NAME, sealed)
    with pytest.raises(SealedValueError, match="not a well-formed"):
        await open_sealed(sessions, settings, case, "sealed:v1:" + NAME)


async def test_concurrent_first_use_makes_one_key(db):
    settings, sessions = db
    for _ in range(3):
        case = case_id()
        keys = await asyncio.gather(*(data_key(sessions, settings, case) for _ in range(12)))
        assert len(set(keys)) == 1
        async with sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(CaseDataKey).where(CaseDataKey.case_id == case)
            )
        assert count == 1
        sealed = seal(keys[0], case, NAME)
        assert await open_sealed(sessions, settings, case, sealed) == NAME


async def test_erasing_destroys_the_key_and_records_who_and_why_once(db):
    settings, sessions = db
    case = case_id()
    key = await data_key(sessions, settings, case)
    sealed = [seal(key, case, value) for value in (NAME, EMAIL, LONG)]

    assert await erase_case_key(sessions, case, "JHA", "Slettefrist udløbet") is True
    for value in sealed:
        assert (
            await open_sealed(sessions, settings, case, value) == ERASED_PLACEHOLDER == "[slettet]"
        )
    assert await open_sealed(sessions, settings, case, "gammel klartekst") == "gammel klartekst"
    with pytest.raises(CaseKeyErased):
        await data_key(sessions, settings, case)  # never made again

    assert await erase_case_key(sessions, case, "mkj", "igen") is False  # nothing recorded
    async with sessions() as session:
        row = await session.get(CaseDataKey, case)
        erasures = (await session.scalars(select(Erasure).where(Erasure.case_id == case))).all()
    assert row.wrapped_key == b"" and row.erased_at is not None
    assert [(e.erased_by, e.reason) for e in erasures] == [("jha", "Slettefrist udløbet")]
    assert erasures[0].erased_at == row.erased_at


async def test_concurrent_erasures_record_one(db):
    settings, sessions = db
    with_key, without_key = case_id(), case_id()
    await data_key(sessions, settings, with_key)
    for case in (with_key, without_key):
        results = await asyncio.gather(
            *(erase_case_key(sessions, case, "jha", "Anmodning fra virksomheden") for _ in range(8))
        )
        assert sorted(results) == [False] * 7 + [True]
        async with sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Erasure).where(Erasure.case_id == case)
            )
        assert count == 1
    # a case erased before it had a key gets none afterwards
    with pytest.raises(CaseKeyErased):
        await data_key(sessions, settings, without_key)


async def test_an_erasure_request_is_checked_without_repeating_it(db):
    _, sessions = db
    case = case_id()
    for erased_by, reason in [
        ("jha", "ok"),
        ("jha", "x" * 201),
        ("jha", f"Slet {NAME}\nnu"),
        ("jha", f"{NAME}\u202e"),
        ("", "Slettefrist udløbet"),
        ("Søren", "Slettefrist udløbet"),
    ]:
        with pytest.raises(ErasureRequestError) as refused:
            await erase_case_key(sessions, case, erased_by, reason)
        assert_nothing_personal(refused.value, NAME, "Søren")
    async with sessions() as session:
        assert await session.get(CaseDataKey, case) is None


async def test_the_table_refuses_a_key_beside_an_erasure(db):
    _, sessions = db
    case = case_id()
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO case_data_keys (case_id, wrapped_key, kek_id, erased_at) "
                    "VALUES (:c, :k, 'dev-1', now())"
                ),
                {"c": case, "k": bytes(WRAPPED_KEY_BYTES)},
            )


async def test_rotation_rewraps_every_key_under_the_active_one(db):
    settings, sessions = db
    k1, k2 = new_key(), new_key()
    dev = {
        settings.payload_key_id: settings.payload_keys[settings.payload_key_id].get_secret_value()
    }
    under_k1 = with_keys(settings, "pk-1", {"pk-1": k1})
    both = with_keys(settings, "pk-2", {"pk-1": k1, "pk-2": k2})
    only_k2 = with_keys(settings, "pk-2", {"pk-2": k2})

    cases = [case_id() for _ in range(3)]
    keys = {case: await data_key(sessions, under_k1, case) for case in cases}
    sealed = {case: seal(keys[case], case, NAME) for case in cases}
    erased = case_id()
    await data_key(sessions, under_k1, erased)
    await erase_case_key(sessions, erased, "jha", "Slettefrist udløbet")

    # before the rewrap: keys wrapped with pk-1 open under the ring {pk-1, pk-2} ...
    assert await open_sealed(sessions, both, cases[0], sealed[cases[0]]) == NAME
    # ... and a ring without pk-1 is a clear error naming the key id, never data
    with pytest.raises(CaseKeyError, match="'pk-1'") as refused:
        await open_sealed(sessions, only_k2, cases[0], sealed[cases[0]])
    assert "not in the keyring" in str(refused.value)
    assert_nothing_personal(refused.value, NAME, k1, k2, sealed[cases[0]])
    with pytest.raises(CaseKeyError, match="'pk-1'"):
        await data_key(sessions, only_k2, cases[1])

    # the other tests' keys are under the dev key: a ring without it stops the rewrap,
    # naming it, and rewraps nothing (one transaction per batch)
    with pytest.raises(CaseKeyError, match=repr(settings.payload_key_id)):
        await rewrap_case_keys(sessions, both)
    async with sessions() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(CaseDataKey).where(CaseDataKey.kek_id == "pk-2")
            )
            == 0
        )

    everything = with_keys(settings, "pk-2", {**dev, "pk-1": k1, "pk-2": k2})
    rewrapped = await rewrap_case_keys(sessions, everything)
    assert rewrapped >= len(cases) + 1  # ours and the earlier tests' keys
    assert await rewrap_case_keys(sessions, everything) == 0  # idempotent

    for case in cases:
        assert await data_key(sessions, only_k2, case) == keys[case]
        assert await open_sealed(sessions, only_k2, case, sealed[case]) == NAME
    assert await open_sealed(sessions, only_k2, erased, sealed[cases[0]]) == ERASED_PLACEHOLDER
    async with sessions() as session:
        rows = (
            await session.scalars(select(CaseDataKey).where(CaseDataKey.case_id.in_(cases)))
        ).all()
        tombstone = await session.get(CaseDataKey, erased)
    assert {row.kek_id for row in rows} == {"pk-2"}
    assert tombstone.wrapped_key == b"" and tombstone.kek_id == "pk-1"  # left alone

    # and back under the dev key (the later tests' settings), still the same keys
    back = with_keys(settings, settings.payload_key_id, {**dev, "pk-2": k2})
    assert await rewrap_case_keys(sessions, back) == rewrapped
    for case in cases:
        assert await data_key(sessions, settings, case) == keys[case]


async def test_a_tampered_wrapped_key_is_a_clear_error(db):
    settings, sessions = db
    case = case_id()
    await data_key(sessions, settings, case)
    async with sessions() as session, session.begin():
        row = await session.get(CaseDataKey, case)
        row.wrapped_key = row.wrapped_key[:-1] + bytes([row.wrapped_key[-1] ^ 1])
    with pytest.raises(CaseKeyError, match="does not open with keyring key") as refused:
        await data_key(sessions, settings, case)
    assert_nothing_personal(
        refused.value, settings.payload_keys[settings.payload_key_id].get_secret_value()
    )


async def test_a_wrapped_key_copied_to_another_case_does_not_open(db):
    """The case id is the wrapping's associated data: swapping rows gives no key."""
    settings, sessions = db
    case_a, case_b = case_id(), case_id()
    await data_key(sessions, settings, case_a)
    await data_key(sessions, settings, case_b)
    async with sessions() as session, session.begin():
        row_a = await session.get(CaseDataKey, case_a)
        row_b = await session.get(CaseDataKey, case_b)
        row_b.wrapped_key = row_a.wrapped_key
    with pytest.raises(CaseKeyError, match=f"case {case_b!r} does not open"):
        await data_key(sessions, settings, case_b)


# ------------------------------------------------ sealing.Vault: the letter's and the door's


async def test_a_letter_opens_its_request_with_one_read_and_never_for_an_erased_case(db):
    settings, sessions = db
    vault = Vault(sessions, settings)
    intake = make_intake(reference=f"SEAL-{uuid.uuid4().hex[:8]}")
    case = intake.workflow_id
    sealed = await vault.seal_intake(intake)  # one key for the contact and the description
    for field in ("name", "email", "phone"):
        assert is_sealed(getattr(sealed.contact, field))
    assert is_sealed(sealed.project_description)
    async with sessions() as session:
        opened = await vault.open_for_letter(session, case, sealed)
    assert opened.contact == intake.contact
    assert opened.project_description == intake.project_description

    plain = make_intake(reference=f"PLAIN-{uuid.uuid4().hex[:8]}")  # no key row, nothing sealed
    async with sessions() as session:
        assert await vault.open_for_letter(session, plain.workflow_id, plain) is plain

    await erase_case_key(sessions, case, "jha", "Slettefrist udløbet")
    for request in (sealed, intake):  # erased: refused, sealed values or not
        async with sessions() as session:
            with pytest.raises(CaseKeyErased) as refused:
                await vault.open_for_letter(session, case, request)
        assert_nothing_personal(refused.value, NAME, EMAIL, intake.contact.name)

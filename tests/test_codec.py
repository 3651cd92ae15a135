"""Payload encryption (schemas/codec.py): the codec itself, every payload the product writes,
a whole case whose history holds no personal data in clear text (failures included), and a
case started under one key that finishes under the next."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

import case_api
from schemas.case import CaseState, CaseStatus
from schemas.codec import ENCODING, KEY_ID, PayloadEncryptionCodec, PayloadKeyError, new_key
from schemas.converter import data_converter
from schemas.intake import CaseIntake
from schemas.letters import LetterRequest, LetterResult
from settings import Settings
from tests.conftest import START_INSTANTS, make_intake, sleep_until
from tests.record_histories import load
from tests.test_case_life import ROSTER, Life, decide_and_close
from tests.test_case_workflow import Fakes
from tests.test_replay import HISTORIES
from worker import case_worker


def keyring(active: str, **keys: str) -> Settings:
    return Settings(payload_key_id=active, payload_keys={k: SecretStr(v) for k, v in keys.items()})


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every `Payload` inside a protobuf message (inputs, results, memos, failures, ...)."""
    for _, payload in payloads_with_paths(message):
        yield payload


def payloads_with_paths(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Message):
                yield from payloads_with_paths(item, f"{path}.{field.name}")


# Not sealed by a codec: search attributes (the server indexes them; they hold no personal
# data, schemas/search_attributes.py) and the SDK's patch markers (the patch id).
UNSEALED = ("search_attributes", "marker_recorded_event_attributes")


def raw_bytes(history: WorkflowHistory) -> bytes:
    return History(events=history.events).SerializeToString()


# ------------------------------------------------------------------ the codec alone
CODEC = PayloadEncryptionCodec("k1", {"k1": bytes(range(32))})


async def test_every_payload_of_the_committed_histories_round_trips_sealed():
    """The committed histories hold every payload type the cases use (intake, state, life,
    review, letter, booking, survey models, None, lists, ...): each seals and opens again."""
    count = 0
    for path in HISTORIES:
        history = load(path)
        for event in history.events:
            for payload in payloads_in(event):
                [sealed] = await CODEC.encode([payload])
                assert sealed.metadata["encoding"] == ENCODING
                assert sealed.metadata[KEY_ID] == b"k1"
                assert payload.data not in sealed.data or len(payload.data) < 8
                [opened] = await CODEC.decode([sealed])
                assert opened == payload
                count += 1
    assert count > 1000


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (make_intake(), CaseIntake),
        (None, None),
        ("Søren Ærø Østergård", str),
        (b"\x00\xffbinary", bytes),
        (["mkj", "abr"], list[str]),
        ([make_intake(reference="BYG-2027-0002")], list[CaseIntake]),
        (LetterResult(message_id="<x@test>", already_sent=False), LetterResult),
    ],
    ids=["intake", "none", "str", "bytes", "list", "list-of-models", "letter-result"],
)
async def test_values_round_trip_through_the_data_converter(value, hint):
    converter = data_converter(keyring("k1", k1=new_key()))
    sealed = await converter.encode([value])
    assert all(p.metadata["encoding"] == ENCODING for p in sealed)
    [back] = await converter.decode(sealed, [hint] if hint else None)
    assert back == value


async def test_tampered_ciphertext_and_unknown_key_are_clear_errors():
    [sealed] = await CODEC.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError, match="'k1' does not authenticate"):
        await CODEC.decode([tampered])
    other = PayloadEncryptionCodec("k2", {"k2": bytes(32)})
    with pytest.raises(PayloadKeyError, match="key id 'k1', which is not in the keyring") as err:
        await other.decode([sealed])
    assert sealed.data.hex() not in str(err.value)


async def test_unencrypted_payloads_pass_through():
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')
    assert await CODEC.decode([plain]) == [plain]


def test_bad_keyrings_are_refused_at_start_without_showing_keys():
    short = "c2hvcnQ="
    with pytest.raises(PayloadKeyError, match="'a' must be 32 bytes") as err:
        keyring("a", a=short)
    assert short not in str(err.value)
    with pytest.raises(PayloadKeyError, match="'zz' is not in the keyring"):
        keyring("zz", a=new_key())
    with pytest.raises(PayloadKeyError, match="not valid base64"):
        keyring("a", a="not base64!")


# ------------------------------------------------------------------ a whole case, raw
MARK = uuid.uuid4().hex[:12]
CONTACT = {
    "name": f"Navn{MARK} Østergård",
    "email": f"mail{MARK}@nordjysk-staal.dk",
    "phone": f"9{int(MARK[:7], 16) % 10**7:07d}",
}
DESCRIPTION = f"Lagerhal med sprinkleranlæg, beskrivelse{MARK}"
REFUSAL = f"refusal{MARK}"


def refusing_receipt(fakes: Fakes) -> list:
    """The fakes, but the mail server refuses the receipt for good, echoing the address (as
    SMTP servers do) in the failure message; its stack trace names this file."""
    activities = fakes.activities()
    send = next(a for a in activities if a.__temporal_activity_definition.name == "send_letter")

    def refuse(request: LetterRequest) -> None:
        raise ApplicationError(
            f"550 5.1.1 <{', '.join(request.to)}> {REFUSAL}", type="Refused", non_retryable=True
        )

    @activity.defn(name="send_letter")
    async def send_letter(request: LetterRequest) -> LetterResult:
        if request.letter_key == "receipt":
            refuse(request)
        return await send(request)

    return [a for a in activities if a is not send] + [send_letter]


async def histories_of_the_case(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The case's history and its children's (reviews, survey)."""
    first = await client.get_workflow_handle(workflow_id).fetch_history()
    children = [
        e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
        for e in first.events
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    ]
    assert children, "the case started no child workflows"
    rest = [await client.get_workflow_handle(c).fetch_history() for c in children]
    return [first, *rest]


async def test_a_whole_case_history_holds_no_personal_data_in_clear_text(time_env):
    fakes = Fakes(time_env, roster=list(ROSTER))
    queue = f"codec-{uuid.uuid4()}"
    async with case_worker(time_env.client, queue, refusing_receipt(fakes)):
        life = Life(time_env, fakes, queue, START_INSTANTS["easter"])
        life.reference = f"CODEC-{uuid.uuid4().hex[:10]}"  # the id is not personal data
        await sleep_until(time_env, life.received_at)
        life.intake = make_intake(
            reference=life.reference,
            received_at=life.received_at,
            case_type="simple_construction",
            departments=["building"],
            contact=CONTACT,
            project_description=DESCRIPTION,
        )
        life.handle = await case_api.start_case(
            life.client, life.intake, queue, request_id=MARK, vault=None
        )
        # The memo (request id) is sealed too, and still reads back: a retried start is one.
        again = await case_api.start_case(
            life.client, life.intake, queue, request_id=MARK, vault=None
        )
        assert again.id == life.handle.id
        await case_api.assign_caseworker(life.client, life.reference, "mkj")
        await case_api.report_material(life.client, life.reference, life.all_material())
        await life.review("building")
        await decide_and_close(life)
        final = await life.handle.result()
        assert isinstance(final, CaseState) and final.status == CaseStatus.closed
        assert "receipt" not in final.letters_sent

    # A client without the codec sees ciphertext only, in every history of the case.
    raw = Client(**{**time_env.client.config(), "data_converter": DataConverter.default})
    histories = await histories_of_the_case(raw, life.handle.id)
    markers = [MARK, CONTACT["phone"], "Østergård", "Nordjysk", "test_codec.py"]
    sealed = unsealed = 0
    for history in histories:
        data = raw_bytes(history)
        for marker in markers:
            assert marker.encode() not in data, marker
        for path, payload in payloads_with_paths(History(events=history.events)):
            if any(part in path for part in UNSEALED):
                unsealed += 1
                continue
            assert payload.metadata["encoding"] == ENCODING, path
            sealed += 1
    assert sealed > 20 and unsealed > 0

    # With the codec the same history opens: the input is the intake, the failure readable.
    converter = time_env.client.data_converter
    case_history = histories[0]
    started = case_history.events[0].workflow_execution_started_event_attributes
    [intake] = await converter.decode(started.input.payloads, [CaseIntake])
    assert intake == life.intake and intake.contact.email == CONTACT["email"]
    assert started.memo.fields["request_id"].metadata["encoding"] == ENCODING
    failures = [
        e.activity_task_failed_event_attributes.failure
        for h in histories
        for e in h.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert failures, "the refused receipt left no failure in history"
    for failure in failures:
        assert failure.message == "Encoded failure" and failure.stack_trace == ""
    [attributes] = await converter.payload_codec.decode([failures[0].encoded_attributes])
    opened = json.loads(attributes.data)
    assert REFUSAL in opened["message"] and CONTACT["email"] in opened["message"]
    assert "test_codec.py" in opened["stack_trace"]
    decoded = await converter.decode_failure(failures[0])
    assert REFUSAL in str(decoded)


# ------------------------------------------------------------------ key rotation
def with_keys(client: Client, settings: Settings) -> Client:
    return Client(**{**client.config(), "data_converter": data_converter(settings)})


def key_ids(history: WorkflowHistory) -> set[bytes]:
    return {
        p.metadata[KEY_ID]
        for p in payloads_in(History(events=history.events))
        if p.metadata.get("encoding") == ENCODING
    }


async def test_a_case_started_under_key_1_finishes_under_key_2(dev_env):
    """On the real dev server (a stopped worker's sticky queue is given up there as in
    production); the case is received now and runs the same on any day."""
    k1, k2 = new_key(), new_key()
    before = with_keys(dev_env.client, keyring("k1", k1=k1))
    after = with_keys(dev_env.client, keyring("k2", k1=k1, k2=k2))
    fakes = Fakes(dev_env, roster=list(ROSTER))
    queue = f"rotation-{uuid.uuid4()}"
    life = Life(dev_env, fakes, queue, await dev_env.get_current_time())
    life.client = before
    async with case_worker(before, queue, fakes.activities()):
        await life.start()
        await case_api.assign_caseworker(before, life.reference, "mkj")
        await case_api.report_material(before, life.reference, life.all_material())
        await life.settled()
    assert await key_ids_of(before, life) == {b"k1"}

    # The worker restarts with the new keyring: it replays k1 payloads and writes k2 ones.
    life.client = after
    life.handle = after.get_workflow_handle(life.handle.id, result_type=CaseState)
    async with case_worker(after, queue, fakes.activities()):
        await life.review("building")
        await decide_and_close(life)
        final = await life.handle.result()
    assert final.status == CaseStatus.closed and final.survey_sent
    assert final.intake == life.intake
    assert await key_ids_of(after, life) == {b"k1", b"k2"}

    # A process that lost key 1 says which key it lacks, and shows no data.
    only_k2 = with_keys(dev_env.client, keyring("k2", k2=k2))
    history = await only_k2.get_workflow_handle(life.handle.id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    with pytest.raises(PayloadKeyError, match="key id 'k1', which is not in the keyring"):
        await only_k2.data_converter.decode(started.input.payloads, [CaseIntake])


async def key_ids_of(client: Client, life: Life) -> set[bytes]:
    return key_ids(await client.get_workflow_handle(life.handle.id).fetch_history())

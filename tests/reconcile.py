"""The fault suite's reconciliation check: what the workflows say against what Postgres and the
SMTP sink hold.

For every case workflow under test (ids given, or listed from Temporal):
- its `get_state` query against its projection row in `cases` (status, caseworker, agreed
  date, contact, closing ...);
- every letter in the state's `letters_sent` against a *sent* outbox row (lost otherwise);
- every sent outbox row against the mails in the sink, by Message-ID: none is lost, more than
  one copy is duplicated.

The report names cases and letter keys only, never personal data (no addresses, no names).
`settled` waits until the system is quiet (no letter queued or pending, every projection row
at the workflow's version, no outbox row unsent) before the verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client

from db.models import Case, OutboxLetter
from schemas.case import CaseState
from stack.smtp_sink import read_mails
from workflows.case import CaseWorkflow

# The projection's columns that mirror the workflow's state, read from each.
FIELDS = {
    "status": lambda s: s.status.value,
    "caseworker_id": lambda s: s.caseworker.id if s.caseworker else None,
    "contacted_at": lambda s: s.contacted_at,
    "contact_breached": lambda s: s.contact_breached,
    "agreed_date": lambda s: s.agreed_date,
    "complete_at": lambda s: s.complete_at,
    "decided_at": lambda s: s.decided_at,
    "closing_reason": lambda s: s.closing_reason.value if s.closing_reason else None,
    "closed_at": lambda s: s.closed_at,
    "survey_sent": lambda s: s.survey_sent,
}


@dataclass
class Report:
    """Mismatches by case id and letter key (no personal data)."""

    cases: int = 0
    letters: int = 0  # sent outbox rows
    mails: int = 0  # mails in the sink for these cases (copies counted)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # still moving: queued, pending, behind
    copies: dict[str, int] = field(default_factory=dict)  # Message-ID -> copies in the sink
    states: dict[str, CaseState] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.mismatched or self.unsettled)

    def summary(self, test: str, faults: str) -> str:
        return (
            f"{test}: cases={self.cases} faults={faults} letters={self.letters} "
            f"mails={self.mails} lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"mismatched={len(self.mismatched)} unsettled={len(self.unsettled)}"
        )


async def case_ids_of(client: Client, task_queue: str) -> list[str]:
    """Every case workflow on *task_queue* (open or closed)."""
    query = f"WorkflowType='CaseWorkflow' AND TaskQueue='{task_queue}'"
    return [w.id async for w in client.list_workflows(query)]


async def _states(client: Client, case_ids: list[str]) -> dict[str, CaseState]:
    gate = asyncio.Semaphore(20)

    async def one(case_id: str) -> tuple[str, CaseState]:
        async with gate:
            handle = client.get_workflow_handle(case_id)
            return case_id, await handle.query(CaseWorkflow.get_state)

    return dict(await asyncio.gather(*(one(i) for i in case_ids)))


async def reconcile(
    client: Client,
    sessions: async_sessionmaker,
    mail_dir: Path,
    case_ids: list[str] | None = None,
    *,
    task_queue: str | None = None,
) -> Report:
    """One comparison, as things are now (see `settled` to wait for quiet first)."""
    if case_ids is None:
        assert task_queue, "give the case ids or the task queue under test"
        case_ids = await case_ids_of(client, task_queue)
    ids = sorted(set(case_ids))
    report = Report(cases=len(ids))
    states = report.states = await _states(client, ids)
    async with sessions() as session:
        rows = {
            r.case_id: r for r in await session.scalars(select(Case).where(Case.case_id.in_(ids)))
        }
        outbox = list(
            await session.scalars(select(OutboxLetter).where(OutboxLetter.case_id.in_(ids)))
        )
    ours = tuple(f"<{i}." for i in ids)  # message_id_for: <case id.letter key@domain>
    copies = Counter(
        m.message_id for m in read_mails(mail_dir) if m.message_id and m.message_id.startswith(ours)
    )
    report.mails = sum(copies.values())
    report.copies = dict(copies)

    for case_id in ids:
        state = states[case_id]
        if state.letters_queued or state.letters_pending:
            queued = ",".join(state.letters_queued + state.letters_pending)
            report.unsettled.append(f"{case_id}: letters not yet sent ({queued})")
        row = rows.get(case_id)
        if row is None:
            report.mismatched.append(f"{case_id}: no projection row")
            continue
        if row.version != state.version:
            report.unsettled.append(
                f"{case_id}: projection at version {row.version}, workflow at {state.version}"
            )
            continue
        for column, of_state in FIELDS.items():
            want, have = of_state(state), getattr(row, column)
            if want != have:
                report.mismatched.append(
                    f"{case_id}: {column} is {have!r} in the projection, {want!r} in the workflow"
                )

    sent = {(r.case_id, r.letter_key): r for r in outbox if r.sent_at is not None}
    for r in outbox:
        if r.sent_at is None:
            report.unsettled.append(f"{r.case_id}/{r.letter_key}: outbox row not sent yet")
    for case_id in ids:
        for key in states[case_id].letters_sent:
            if (case_id, key) not in sent:
                report.lost.append(f"{case_id}/{key}: sent in the workflow, no sent outbox row")
    report.letters = len(sent)
    for (case_id, key), row in sorted(sent.items()):
        n = copies.get(row.message_id, 0)
        if n == 0:
            report.lost.append(f"{case_id}/{key}: outbox row sent, no mail in the sink")
        elif n > 1:
            report.duplicated.append(f"{case_id}/{key}: {n} copies of one Message-ID in the sink")
    known = {r.message_id for r in outbox}
    for message_id in sorted(set(copies) - known):
        report.mismatched.append(f"{message_id}: a mail in the sink without an outbox row")
    return report


async def settled(
    client: Client,
    sessions: async_sessionmaker,
    mail_dir: Path,
    case_ids: list[str] | None = None,
    *,
    task_queue: str | None = None,
    timeout: float = 90.0,
) -> Report:
    """`reconcile` once the system is quiet (nothing unsettled), or after *timeout* seconds
    with whatever is still moving listed in `unsettled`."""
    deadline = time.monotonic() + timeout
    while True:
        report = await reconcile(client, sessions, mail_dir, case_ids, task_queue=task_queue)
        if not report.unsettled and not report.mismatched and not report.lost:
            return report
        if time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.5)

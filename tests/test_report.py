"""The monthly report (commitment 10) through the real parts: the report workflow on the
time-skipping server over two months (the second shows the change since the first), stored in
the embedded Postgres, e-mailed over SMTP to the sink with its PDF exactly once; a rerun gives
the same report and sends nothing. The Temporal Schedule itself on the real dev server: created
and updated idempotently, next runs on the 1st at 06:00 Copenhagen, and a triggered run makes
the report of the month before.

Months are pinned (December 2024 and January 2025, across a year boundary), so the test holds
on every day of the year.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.client import ScheduleOverlapPolicy

import report_api
from db.measurement_models import ClosedCase, MonthlyReport, SurveyAnswer, SurveyComment
from db.session import make_engine, make_sessionmaker
from domain.calendar import COPENHAGEN
from mail.channel import EmailChannel
from report_schedule import SCHEDULE_ID, ensure_report_schedule
from schemas.report import ReportRequest
from stack.dev import prepared_settings
from stack.smtp_sink import read_mails
from tests.conftest import sleep_until, time_env  # noqa: F401 - the time-skipping server
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_report_figures import pdf_text
from worker import build_worker
from workflows.report import MonthlyReportWorkflow

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


@pytest_asyncio.fixture(scope="module")
async def db(stack):  # noqa: F811
    recipient = f"org-{uuid.uuid4().hex[:6]}@erhverv.example"
    settings = await prepared_settings(stack, f"report-{uuid.uuid4().hex[:8]}")
    settings = settings.model_copy(update={"report_recipients": [recipient]})
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine), recipient
    await engine.dispose()


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=COPENHAGEN)


async def add_case(
    sessions,
    month_day: date,
    n: int,
    *,
    late_contact=False,
    late=False,
    slow=False,
    answer=None,
    comment=None,
    tags=(),
    cause=None,
    tag="T",
):
    """One closed case on *month_day* (and its answer and comment, if given)."""
    case_id = f"case-{tag}-{month_day:%Y%m}-{n:03d}-{uuid.uuid4().hex[:4]}"
    closed = at(month_day)
    async with sessions.begin() as session:
        session.add(
            ClosedCase(
                case_id=case_id,
                reference=case_id.removeprefix("case-"),
                case_type="industry_warehouse",
                departments=["building", "fire"],
                industry_code="412000",
                closing_reason="decided",
                received_at=closed - timedelta(days=70),
                complete_at=closed - timedelta(days=60),
                decided_at=closed,
                closed_at=closed,
                agreed_date=(closed - timedelta(days=2 if late else -2)).date(),
                contacted_within_deadline=not late_contact,
                decided_on_or_before_agreed_date=not late,
                net_processing_days=70.0 if slow else 30.0 + n,
                gross_days=80.0 if slow else 45.0 + n,
                gross_working_days=40,
                kl_target_days=50,
                breach_causes={"decision": cause} if cause else {},
                survey_sent_at=closed,
            )
        )
        await session.flush()
        if answer is not None:
            session.add(
                SurveyAnswer(
                    case_id=case_id,
                    overall=answer,
                    processing_time=answer,
                    process=answer,
                    guidance=0,
                    coordination=answer,
                    answered_at=closed + timedelta(hours=2),
                )
            )
        if comment is not None:
            session.add(
                SurveyComment(
                    case_id=case_id,
                    text=comment,
                    tags=list(tags),
                    written_at=closed + timedelta(hours=2),
                )
            )
    return case_id


async def mails_to(mail_dir, address: str, count: int, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        mails = [m for m in read_mails(mail_dir) if address in m.to]
        if len(mails) >= count or asyncio.get_running_loop().time() > deadline:
            return mails
        await asyncio.sleep(0.1)


async def test_report_over_two_months_is_stored_and_mailed_once(stack, db, time_env):  # noqa: F811
    settings, sessions, recipient = db
    december, january = date(2024, 12, 1), date(2025, 1, 1)
    # December: 6 cases, 5 answers (4 satisfied), one late contact.
    for n in range(6):
        await add_case(
            sessions,
            december + timedelta(days=n * 4),
            n,
            late_contact=n == 0,
            answer=(5 if n < 4 else 2) if n < 5 else None,
        )
    # January: 8 cases, all 8 answered and satisfied; two late decisions (one with a recorded
    # cause), one slow case; comments with staff tags (the texts stay out of the report).
    for n in range(8):
        await add_case(
            sessions,
            january + timedelta(days=n * 3 + 1),
            n,
            late=n in (1, 2),
            slow=n == 3,
            answer=5 if n % 2 else 4,
            cause="Ventede på ekstern udtalelse fra Beredskabsstyrelsen" if n == 1 else None,
            comment="Hurtig og venlig behandling – tak til Søren Østergård" if n < 3 else None,
            tags=("kontakt", "ros") if n == 0 else ("kontakt",) if n == 1 else (),
        )
    async with build_worker(time_env.client, sessions, EmailChannel(settings), settings):
        first = await report_api.make_report(
            time_env.client, "2024-12", settings.temporal_task_queue
        )
        second = await report_api.make_report(
            time_env.client, "2025-01", settings.temporal_task_queue
        )
        assert (first.created, first.mailed, first.cases) == (True, True, 6)
        assert (second.created, second.mailed, second.cases) == (True, True, 8)
        jan = await report_api.report_of(sessions, "2025-01")
        # A case closed in January after the report: the stored report stays as it was.
        await add_case(sessions, date(2025, 1, 30), 99, answer=1)
        again = await report_api.make_report(
            time_env.client, "2025-01", settings.temporal_task_queue
        )
        assert (again.created, again.mailed, again.cases) == (False, False, 8)
        assert again.message_id == second.message_id

    same = await report_api.report_of(sessions, "2025-01")
    assert (same.html, same.pdf, same.figures) == (jan.html, jan.pdf, jan.figures)
    assert same.sent_at is not None
    figures = {i["key"]: i for i in jan.figures["indicators"]}
    assert figures["response_rate"]["value"] == 1.0
    assert figures["response_rate"]["previous"] == round(5 / 6, 4)
    assert figures["response_rate"]["change_pp"] == round((1 - 5 / 6) * 100, 1)
    assert (
        figures["satisfied_overall"]["value"] == 1.0
        and figures["satisfied_overall"]["previous"] == 0.8
    )
    assert (
        figures["satisfied_overall"]["change_pp"] == 20.0
        and figures["satisfied_overall"]["met"] is True
    )
    assert figures["satisfied_guidance"]["n"] == 0  # every "ved ikke": no share
    assert figures["contacted_within_5_working_days"]["value"] == 1.0 and figures[
        "contacted_within_5_working_days"
    ]["previous"] == round(5 / 6, 4)
    assert (
        figures["decided_on_time"]["value"] == 0.75 and figures["decided_on_time"]["met"] is False
    )
    assert jan.figures["broken_counts"] == {"contact": 0, "decision": 2, "processing_time": 1}
    causes = [b["cause"] for b in jan.figures["broken"]]
    assert "Ventede på ekstern udtalelse fra Beredskabsstyrelsen" in causes
    assert "Ikke registreret endnu" in causes
    assert jan.figures["themes"]["comments"] == 3
    assert [(t["tag"], t["count"]) for t in jan.figures["themes"]["rows"]] == [
        ("kontakt", 2),
        ("ros", 1),
    ]
    assert jan.figures["previous"]["label"] == "december 2024"
    assert "Søren" not in jan.html and "Hurtig og venlig" not in jan.html
    assert "Ændring" in jan.html and "+20,0 point" in jan.html

    # The PDF parses and its text carries the month, æ, ø, å and the dash.
    assert jan.pdf.startswith(b"%PDF-") and jan.pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(jan.pdf)
    assert "Månedsrapport om erhvervsservice – januar 2025" in text
    assert "Målingen mod aftalens mål" in text and "Brudte løfter og deres årsager" in text
    assert "Ventede på ekstern udtalelse fra Beredskabsstyrelsen" in text
    assert all(ch in text for ch in "æøå–")
    assert "Søren" not in text

    # One mail per month, each with its PDF; the rerun sent nothing.
    mails = await mails_to(stack.mail_dir, recipient, 2)
    await asyncio.sleep(0.5)
    mails = [m for m in read_mails(stack.mail_dir) if recipient in m.to]
    assert sorted(m.subject for m in mails) == [
        "Månedsrapport om erhvervsservice – december 2024",
        "Månedsrapport om erhvervsservice – januar 2025",
    ]
    january_mail = next(m for m in mails if "januar" in m.subject)
    assert january_mail.message_id == f"<report-2025-01.report@{settings.message_id_domain}>"
    assert "Kære erhvervsorganisationer" in january_mail.body
    assert "/figures/rapporter/2025-01" in january_mail.body
    attachments = list(january_mail.message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("maanedsrapport-2025-01.pdf", "application/pdf")
    ]
    assert attachments[0].get_content() == jan.pdf


async def test_without_a_month_the_run_reports_the_month_before(db, time_env):  # noqa: F811
    """What the schedule does on the 1st: the run's own time (Copenhagen) names the month.
    The clock is skipped to 06:00 on 1 March of a coming year; the report is for February."""
    settings, sessions, _ = db
    year = date.today().year + 2
    await add_case(sessions, date(year, 2, 28), 1, answer=5, tag="SCH")
    await add_case(sessions, date(year, 3, 1), 2, answer=5, tag="SCH")  # March: not in it
    await sleep_until(time_env, datetime(year, 3, 1, 6, 0, tzinfo=COPENHAGEN))
    worker = build_worker(time_env.client, sessions, EmailChannel(settings), settings)
    # No skipping while waiting for the results: the runs read the clock at 1 March 06:00.
    with time_env.auto_time_skipping_disabled():
        async with worker:
            result = await time_env.client.execute_workflow(
                MonthlyReportWorkflow.run,
                ReportRequest(),
                id=f"monthly-report-test-{uuid.uuid4().hex[:6]}",
                task_queue=settings.temporal_task_queue,
            )
            assert (result.month, result.cases, result.created) == (f"{year}-02", 1, True)
            with pytest.raises(report_api.ReportError, match="not over yet"):
                await report_api.make_report(
                    time_env.client, f"{year}-03", settings.temporal_task_queue
                )
    async with sessions() as session:
        months = (await session.scalars(select(MonthlyReport.month))).all()
    assert date(year, 2, 1) in months and date(year, 3, 1) not in months


async def test_the_schedule_is_ensured_idempotently_and_fires_the_report(stack, product):  # noqa: F811
    """On the real dev server (the time-skipping server has no schedules): created once, then
    updated; the 1st at 06:00 Copenhagen, overlap SKIP; a triggered run reports last month."""
    settings, client, sessions = product
    assert await ensure_report_schedule(client, settings) == "created"
    assert await ensure_report_schedule(client, settings) == "updated"
    handle = client.get_schedule_handle(SCHEDULE_ID)
    described = await handle.describe()
    spec = described.schedule.spec
    assert spec.time_zone_name == "Europe/Copenhagen"
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    for upcoming in described.info.next_action_times[:3]:
        local = upcoming.astimezone(COPENHAGEN)
        assert (local.day, local.hour, local.minute) == (1, 6, 0)
    await handle.trigger()
    today = datetime.now(UTC).astimezone(COPENHAGEN).date()
    last = (
        date(today.year - 1, 12, 1)
        if today.month == 1
        else today.replace(day=1, month=today.month - 1)
    )
    month = f"{last:%Y-%m}"
    for _ in range(200):
        stored = await report_api.report_of(sessions, month)
        if stored is not None and stored.sent_at is not None:
            break
        await asyncio.sleep(0.1)
    assert stored is not None and stored.sent_at is not None
    runs = [w async for w in client.list_workflows("WorkflowType = 'MonthlyReportWorkflow'")]
    assert any(w.id.startswith("monthly-report") for w in runs)
    await handle.delete()


async def test_the_command_line_makes_a_month_once(product):  # noqa: F811
    """`starter.py report --month` against the running stack: stored and sent, then neither."""
    settings, _, _ = product
    env = {
        **os.environ,
        "ERHVERV_TEMPORAL_ADDRESS": settings.temporal_address,
        "ERHVERV_DATABASE_URL": settings.database_url,
        "ERHVERV_SMTP_PORT": str(settings.smtp_port),
        "ERHVERV_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "COLUMNS": "100",
    }

    async def starter(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "starter.py"),
            *args,
            env=env,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        # the output is wrapped to the terminal: compare with the lines joined
        return process.returncode, " ".join(out.decode().split()), " ".join(err.decode().split())

    code, out, _ = await starter("report", "--month", "2024-10")
    assert code == 0, out
    assert "Monthly report 2024-10: 0 closed cases; stored now; e-mailed now." in out
    assert "/figures/rapporter/2024-10.pdf" in out
    code, out, _ = await starter("report", "--month", "2024-10")
    assert code == 0 and "already stored (unchanged); already e-mailed (not sent again)" in out
    code, _, err = await starter("report", "--month", "2024-1")
    assert code == 1 and "--month must be a month as YYYY-MM" in err
    future = f"{date.today().year + 1}-01"
    code, _, err = await starter("report", "--month", future)
    assert code == 1 and "is not over yet" in err

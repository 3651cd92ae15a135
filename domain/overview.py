"""Where a case stands, rendered once: the Temporal UI's Current details and `starter.py show`
both print these lines (markdown; no personal data: ids, dates, codes and counts only)."""

from __future__ import annotations

from domain import calendar, clock, material
from schemas.case import CaseState


def review_status(state: CaseState) -> dict[str, str]:
    """Each department's review as one word: its outcome, failed, open or not started."""
    out: dict[str, str] = {}
    for department in state.intake.departments:
        key = department.value
        round_ = state.review_rounds.get(key, 1)
        if key in state.reviews:
            out[key] = state.reviews[key].outcome.value
        elif state.closing_reason is not None:
            out[key] = "ended with the case"
        elif f"{key}#{round_}" in state.failed_reviews:
            out[key] = f"FAILED (round {round_})"
        elif state.running_reviews.get(key) == round_:
            out[key] = f"open (round {round_})"
        else:
            out[key] = "not started"
    return out


def clock_status(state: CaseState) -> str:
    if not state.clock:
        return "not started"
    if state.clock[-1].event.value == "ended":
        return "ended"
    return "running" if clock.is_running(state.clock) else "stopped (waiting for the company)"


def lines(state: CaseState) -> list[str]:
    s = state
    deadline = s.contact_deadline.astimezone(calendar.COPENHAGEN)
    caseworker = f"`{s.caseworker.id}`" if s.caseworker else "not yet assigned"
    met = {None: "waiting", True: "yes", False: "no"}[s.contact_met]
    out = [
        f"### Case {s.intake.reference}",
        f"- **Status:** {s.status.value.replace('_', ' ')}",
        f"- **Type:** {s.intake.case_type.value} · **Departments:** "
        + ", ".join(d.value for d in s.intake.departments),
        f"- **Contact deadline:** {deadline:%Y-%m-%d %H:%M} Europe/Copenhagen",
        f"- **Process-responsible caseworker:** {caseworker}",
        (
            f"- **Contacted within deadline:** {met} · **Reminder sent:** "
            f"{'yes' if s.contact_reminder_sent else 'no'} · **Breached:** "
            f"{'YES' if s.contact_breached else 'no'}"
        ),
    ]
    if s.agreed_date:
        missing = len(material.missing_material(s.required_material, s.received_material))
        out += [
            f"- **Agreed decision date:** {s.agreed_date} (moved {len(s.date_changes) - 1}×)",
            (
                f"- **Material:** {'complete' if not missing else f'{missing} missing'}"
                f" · **KL clock:** {clock_status(s)}"
            ),
            "- **Reviews:** "
            + ", ".join(f"{d}: {status}" for d, status in review_status(s).items())
            + (f" · **late:** {', '.join(s.late_reviews)}" if s.late_reviews else ""),
        ]
    if s.closing and not s.closing_reason:
        out.append(f"- **Closing:** {s.closing.value}")
    meetings = [m for m in s.pre_dialogues if m.at or m.requested_at]
    if meetings:
        out.append(
            "- **Pre-dialogue:** "
            + ", ".join(
                f"{m.topic.value} "
                + (
                    f"{m.at.astimezone(calendar.COPENHAGEN):%Y-%m-%d %H:%M}"
                    + (" held" if m.held else " cancelled" if m.cancelled else "")
                    if m.at
                    else "requested, not booked"
                )
                for m in meetings
            )
        )
    if s.closing_reason:
        out.append(
            f"- **Closed:** {s.closing_reason.value} · survey sent: "
            f"{'yes' if s.survey_sent else 'no'}"
        )
    if s.figures:
        f = s.figures
        days = lambda v: f"{v:g}" if v is not None else "–"
        out.append(
            f"- **Processing time (calendar days):** gross {days(f.gross_days)} · net (KL) "
            f"{days(f.net_processing_days)} · waiting {days(f.waiting_days)} · working days "
            f"from receipt {f.gross_working_days}"
        )
    out.append(f"- **Letters sent:** {', '.join(s.letters_sent) or 'none yet'}")
    if s.letters_pending:
        out.append(
            f"- **LETTER PENDING** (mail server unreachable; retried): {', '.join(s.letters_pending)}"
        )
    for why in s.attention:
        out.append(f"- **NEEDS ATTENTION:** {why}")
    return out


def markdown(state: CaseState) -> str:
    return "\n".join(lines(state))

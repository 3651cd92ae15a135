"""The letter activity: every letter is sent exactly once in effect.

The outbox row keyed by (case_id, letter_key) is written first; then, holding that row's lock,
the activity checks `sent_at`, sends, and records `sent_at`. A retry after a recorded send
sends nothing. A worker that dies between the SMTP send and the commit makes the retry send the
same message again with the *same* deterministic Message-ID, which receiving systems (and
people) recognise as one letter: that is the remaining window, and it is as small as SMTP
allows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import refused_data_is_permanent
from db.company_models import CompanyLink
from db.models import OutboxLetter
from domain import company_link
from domain.survey import survey_url
from mail.channel import LetterChannel, OutgoingLetter, RecipientRefused
from mail.render import COMPANY_PAGE_LETTERS, MissingLetterFacts, render_letter
from personal import CaseKeyErased, CaseKeyError
from schemas.letters import LetterFacts, LetterKind, LetterRequest, LetterResult
from sealing import Vault
from settings import Settings
from worker_health import LETTERS_FAILED, LETTERS_SENT


def message_id_for(case_id: str, letter_key: str, domain: str) -> str:
    """Deterministic Message-ID: the same letter always carries the same id."""
    return f"<{case_id}.{letter_key}@{domain}>"


class LetterActivities:
    def __init__(self, sessions: async_sessionmaker, channel: LetterChannel, settings: Settings):
        self.sessions = sessions
        self.channel = channel
        self.settings = settings

    def _complete(self, request: LetterRequest) -> LetterFacts:
        """Facts only the activity may know: the survey's signed per-case link."""
        if request.kind != LetterKind.survey:
            return request.facts
        secret = self.settings.survey_secret.get_secret_value().encode()
        url = survey_url(self.settings.survey_base_url, request.case_id, secret)
        return request.facts.model_copy(update={"survey_url": url})

    async def _case_page_url(self, session: AsyncSession, request: LetterRequest) -> str | None:
        """The signed link to the company's case page for a letter to the company: its
        link row is written here (the same letter, the same link id; a row written once),
        the secret never enters history. None without a public address."""
        base = self.settings.public_base_url
        if (
            request.kind not in COMPANY_PAGE_LETTERS
            or not base
            or not company_link.valid_case_id(request.case_id)
        ):
            return None
        link_id = company_link.link_id_for(request.case_id, request.letter_key)
        await session.execute(
            insert(CompanyLink)
            .values(link_id=link_id, case_id=request.case_id, letter_key=request.letter_key)
            .on_conflict_do_nothing(index_elements=[CompanyLink.link_id])
        )
        secret = company_link.signing_secret(
            self.settings.company_link_secret.get_secret_value(),
            self.settings.web_secret.get_secret_value(),
        )
        token = company_link.make_token(secret, request.case_id, link_id)
        return company_link.page_url(base, token)

    async def _opened(self, session: AsyncSession, request: LetterRequest) -> LetterRequest:
        """The request with the case's sealed personal fields opened (sealing.py): the
        recipient and the greeting. An erased case gets no more letters."""
        vault = Vault(self.sessions, self.settings)
        try:
            return await vault.open_for_letter(session, request.case_id, request)
        except CaseKeyErased:
            raise ApplicationError(
                f"letter {request.letter_key} not sent: the case's personal data is erased.",
                type="PersonalDataErased",
                non_retryable=True,
            ) from None
        except CaseKeyError:
            raise ApplicationError(
                f"letter {request.letter_key}: the case's data key is missing or does not open.",
                type="CaseKeyError",
                non_retryable=True,
            ) from None

    def _render(self, request: LetterRequest, page: str | None) -> tuple[str, str]:
        try:
            return render_letter(
                request.kind,
                self._complete(request),
                self.settings.public_base_url,
                case_page_url=page,
                case_page_days=self.settings.company_link_days if page else None,
            )
        except MissingLetterFacts as err:  # a bug in the caller: retrying cannot help
            raise ApplicationError(str(err), type="MissingLetterFacts", non_retryable=True) from err
        except (ValueError, OverflowError, TypeError) as err:  # facts no letter can show
            raise ApplicationError(
                f"letter {request.letter_key} cannot be rendered ({type(err).__name__}).",
                type="LetterNotRenderable",
                non_retryable=True,
            ) from None

    @activity.defn(name="send_letter")
    async def send_letter(self, request: LetterRequest) -> LetterResult:
        """One transaction prepares the letter (the key row read, the recipient opened, the
        page link written, the text rendered and stored); a second sends it under the
        stored row's lock."""
        with refused_data_is_permanent(f"letter {request.letter_key}"):
            async with self.sessions.begin() as session:
                opened = await self._opened(session, request)
                page = await self._case_page_url(session, opened)
                subject, body = self._render(opened, page)
                await self._store(session, opened, subject, body)
        return await self._deliver_once(request)

    async def _store(self, session: AsyncSession, request: LetterRequest, subject: str, body: str):
        """The outbox row, written once (a retry finds it and keeps the first text)."""
        await session.execute(
            insert(OutboxLetter)
            .values(
                case_id=request.case_id,
                letter_key=request.letter_key,
                kind=request.kind.value,
                recipients=[str(r) for r in request.to],
                subject=subject,
                body=body,
                message_id=message_id_for(
                    request.case_id, request.letter_key, self.settings.message_id_domain
                ),
                send_attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[OutboxLetter.case_id, OutboxLetter.letter_key])
        )

    async def _deliver_once(self, request: LetterRequest) -> LetterResult:
        """Under the row's lock: send unless already sent, then record the send."""
        key = (OutboxLetter.case_id == request.case_id) & (
            OutboxLetter.letter_key == request.letter_key
        )
        async with self.sessions.begin() as session:
            row = (await session.scalars(select(OutboxLetter).where(key).with_for_update())).one()
            log = {"case_id": request.case_id, "letter_key": request.letter_key, "kind": row.kind}
            if row.sent_at is not None:
                activity.logger.info("letter already sent; not sending again", extra=log)
                return LetterResult(message_id=row.message_id, already_sent=True)
            row.send_attempts += 1
            # The stored text wins: a retry sends exactly what the first attempt rendered.
            letter = OutgoingLetter(row.message_id, list(row.recipients), row.subject, row.body)
            try:
                await self.channel.deliver(letter)
            except RecipientRefused as exc:
                LETTERS_FAILED.labels(row.kind).inc()
                raise ApplicationError(
                    f"letter {request.letter_key} was refused by the mail server: {exc}",
                    type="RecipientRefused",
                    non_retryable=True,
                ) from exc
            except BaseException:  # the mail server away, a timeout: the retry tries again
                LETTERS_FAILED.labels(row.kind).inc()
                raise
            LETTERS_SENT.labels(row.kind).inc()
            row.sent_at = datetime.now(UTC)
            activity.logger.info("letter sent", extra=log)
            return LetterResult(message_id=row.message_id, already_sent=False)

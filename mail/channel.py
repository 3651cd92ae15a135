"""The letter channel seam. E-mail over SMTP today; a Digital Post channel can stand beside it
(binding letters such as decisions must go through Digital Post in production)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib

from settings import Settings


@dataclass(frozen=True)
class Attachment:
    """A file sent with a letter, e.g. a calendar invitation (``text/calendar``, with
    ``params={"method": "REQUEST"}``)."""

    filename: str
    content_type: str  # "maintype/subtype"
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OutgoingLetter:
    message_id: str
    recipients: list[str]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


class RecipientRefused(Exception):
    """The channel permanently refused the recipients (retrying will not help)."""


class LetterChannel(Protocol):
    async def deliver(self, letter: OutgoingLetter) -> None: ...


class EmailChannel:
    """Real SMTP over the wire (aiosmtplib): the sink in development, a relay in production."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, letter: OutgoingLetter) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = ", ".join(letter.recipients)
        message["Subject"] = letter.subject
        message["Message-ID"] = letter.message_id
        message["Date"] = format_datetime(datetime.now(UTC))
        message.set_content(letter.body, charset="utf-8")
        for attachment in letter.attachments:
            maintype, subtype = attachment.content_type.split("/", 1)
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
                params=dict(attachment.params),
            )
        return message

    def client(self) -> aiosmtplib.SMTP:
        """An SMTP client for the settings' server: TLS on connect (smtp_use_tls, port 465) or
        STARTTLS (smtp_starttls, port 587), and AUTH when a username is set."""
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            use_tls=s.smtp_use_tls,
            timeout=s.smtp_timeout_seconds,
        )

    async def deliver(self, letter: OutgoingLetter) -> None:
        client = self.client()
        try:
            await client.connect()
            await client.send_message(self.build(letter))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            client.close()
            raise RecipientRefused(f"{len(exc.recipients)} recipient(s) refused") from exc
        except BaseException:
            # Failed or cancelled (a worker's shutdown grace is over): drop the connection at
            # once. (`aiosmtplib.send` would say QUIT and wait behind a slow server's reply,
            # holding a cancelled activity up to the SMTP timeout.)
            client.close()
            raise
        try:  # accepted: a failed goodbye changes nothing
            await client.quit()
        except (aiosmtplib.SMTPException, TimeoutError, ConnectionError):
            pass
        finally:
            client.close()

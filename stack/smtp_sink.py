"""A local SMTP sink: every message it receives becomes one `.eml` file, nothing is sent on.

Files are named ``<UTC timestamp>-<seq>.eml`` so that sorting by name gives arrival order.
Each file is the message exactly as received, preceded by three ``X-Sink-*`` headers with the
envelope; open it in any mail client or text editor, or use `read_mails`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from stack.ports import HOST, ensure_port_free

log = logging.getLogger(__name__)

RECEIVED_AT = "X-Sink-Received-At"
ENVELOPE_FROM = "X-Sink-Envelope-From"
ENVELOPE_TO = "X-Sink-Envelope-To"


class _StoreEveryMessage:
    """aiosmtpd handler: write each DATA to a new file (duplicates are kept on purpose).

    While *held* (`SmtpSink.hold`), a message is stored as it arrives (the sink has taken it,
    as a mail server commits a message to its queue) but the ``250`` reply waits until
    `SmtpSink.release`: the window in which a sender dies after the server took its letter and
    before it heard so."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._open = threading.Event()  # set: replies go out at once
        self._open.set()
        self.held = 0  # messages stored whose 250 reply is being held back

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.store(content, envelope.mail_from, list(envelope.rcpt_tos))
        if not self._open.is_set():
            with self._lock:
                self.held += 1
            try:
                while not self._open.is_set():  # a sender that hangs up cancels this wait
                    await asyncio.sleep(0.02)
            finally:
                with self._lock:
                    self.held -= 1
        return "250 Message accepted for delivery"

    def store(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> Path:
        now = datetime.now(UTC)
        head = (
            f"{RECEIVED_AT}: {now.isoformat()}\r\n{ENVELOPE_FROM}: {mail_from}\r\n"
            f"{ENVELOPE_TO}: {', '.join(rcpt_tos)}\r\n"
        ).encode()
        with self._lock:
            path = self.mail_dir / f"{now:%Y%m%dT%H%M%S.%fZ}-{next(self._seq):06d}.eml"
            while path.exists():
                path = path.with_name(f"{path.name[:-11]}-{next(self._seq):06d}.eml")
            partial = path.with_suffix(".part")  # readers only see complete files
            partial.write_bytes(head + raw)
            partial.rename(path)
        log.info("Stored mail %s for %s", path.name, ", ".join(rcpt_tos))
        return path


class SmtpSink:
    """SMTP server on 127.0.0.1:*port* (in a thread) storing mails in *mail_dir*."""

    def __init__(self, mail_dir: Path, port: int = 8025) -> None:
        self.mail_dir = Path(mail_dir).absolute()
        self.port = port
        self.startup_seconds: float | None = None
        self._controller: Controller | None = None
        self._handler = _StoreEveryMessage(self.mail_dir)  # kept across restarts

    @property
    def host(self) -> str:
        return HOST

    def problem(self, timeout: float = 2.0) -> str | None:
        """None while the sink (once started) greets on its port; else what is wrong."""
        if self._controller is None:
            return None
        try:
            with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
                greeting = sock.recv(512)
                sock.sendall(b"QUIT\r\n")
        except OSError as err:
            return f"stopped answering on {HOST}:{self.port} ({err.strerror or err})"
        if not greeting.startswith(b"220"):
            return f"answered {greeting[:40]!r} on {HOST}:{self.port}, not an SMTP greeting"
        return None

    def restart(self) -> None:
        """Stop what is left of the server thread and start a new one on the same port."""
        controller, self._controller = self._controller, None
        if controller is not None:
            try:
                controller.stop(no_assert=True)
            except RuntimeError:  # its event loop is already closed
                pass
        self.start()

    def start(self) -> None:
        if self._controller is not None:
            return
        began = time.monotonic()
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        ensure_port_free(self.port, "the SMTP sink")
        controller = Controller(self._handler, hostname=HOST, port=self.port, enable_SMTPUTF8=True)
        controller.start()
        self._controller = controller
        self.startup_seconds = time.monotonic() - began
        log.info("SMTP sink on %s:%s storing in %s", HOST, self.port, self.mail_dir)

    def stop(self) -> None:
        self.release()  # a held reply would keep the server thread from stopping
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def hold(self) -> None:
        """From now on, store each message as it arrives but hold back its ``250`` reply
        until `release` (tests: a sender killed after the server took its letter)."""
        self._handler._open.clear()

    def release(self) -> None:
        """Answer the held messages and every later one at once again."""
        self._handler._open.set()

    @property
    def held(self) -> int:
        """How many stored messages are waiting for their ``250`` reply now."""
        return self._handler.held


@dataclass(frozen=True)
class ReceivedMail:
    """One stored message, decoded."""

    path: Path
    message_id: str | None
    sender: str  # address in From:
    to: list[str]  # addresses in To:
    subject: str
    body: str  # the text/plain part, "\n" line endings
    received_at: datetime
    cc: list[str] = field(default_factory=list)
    envelope_to: list[str] = field(default_factory=list)  # every RCPT TO (includes Bcc)
    message: EmailMessage | None = field(default=None, repr=False, compare=False)


def _addresses(msg: EmailMessage, header: str) -> list[str]:
    value = msg.get(header)
    if value is None:
        return []
    return [a.addr_spec for a in getattr(value, "addresses", ())]


def read_mail(path: Path) -> ReceivedMail:
    """Parse one `.eml` file written by the sink."""
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    body = part.get_content() if part is not None else ""
    stamp = msg.get(RECEIVED_AT)
    received_at = (
        datetime.fromisoformat(str(stamp))
        if stamp
        else datetime.fromtimestamp(path.stat().st_mtime, UTC)
    )
    envelope_to = str(msg.get(ENVELOPE_TO, ""))
    message_id = msg.get("Message-ID")
    senders = _addresses(msg, "From")
    return ReceivedMail(
        path=path,
        message_id=str(message_id).strip() if message_id else None,
        sender=senders[0] if senders else "",
        to=_addresses(msg, "To"),
        subject=str(msg.get("Subject", "")),
        body=body.replace("\r\n", "\n"),
        received_at=received_at,
        cc=_addresses(msg, "Cc"),
        envelope_to=[a.strip() for a in envelope_to.split(",") if a.strip()],
        message=msg,
    )


def read_mails(mail_dir: Path) -> list[ReceivedMail]:
    """Every mail in *mail_dir*, in arrival order (sorted by file name)."""
    mail_dir = Path(mail_dir)
    if not mail_dir.is_dir():
        return []
    return [read_mail(p) for p in sorted(mail_dir.glob("*.eml"))]


async def wait_for_mails(mail_dir: Path, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
    """Poll until at least *count* mails are stored; returns them all (TimeoutError otherwise)."""
    deadline = time.monotonic() + timeout
    while len(mails := read_mails(mail_dir)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(mails)} of {count} mails arrived in {mail_dir}")
        await asyncio.sleep(0.05)
    return mails

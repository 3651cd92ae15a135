"""The dev stack's mail-sink page: /dev/post lists the mails the SMTP sink stored
(`<state folder>/mail/*.eml`), newest first; /dev/post/{name} shows one (its headers and its
text, escaped, with its links clickable, so a tester follows the company's link from the
receipt). Only with `ERHVERV_MAIL_SINK_PAGE` (the dev stack turns it on); otherwise 404.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from domain.texts import danish_datetime
from stack.smtp_sink import ReceivedMail, read_mail, read_mails
from web.pages.routes import not_found, render

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,120}\.eml$")
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _mail_dir(request: Request) -> Path | None:
    settings = request.app.state.services.settings
    return settings.state_dir / "mail" if settings.mail_sink_page else None


def linked(text: str) -> Markup:
    """*text* escaped, each http(s) address in it a link."""
    out, last = [], 0
    for match in LINK.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = escape(match.group())
        out.append(Markup(f'<a href="{url}">{url}</a>'))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _row(mail: ReceivedMail) -> dict:
    return {
        "name": mail.path.name,
        "received": danish_datetime(mail.received_at),
        "sender": mail.sender,
        "to": ", ".join(mail.to),
        "subject": mail.subject or "(intet emne)",
    }


@router.get("/dev/post", response_class=HTMLResponse)
async def mail_list(request: Request) -> Response:
    mail_dir = _mail_dir(request)
    if mail_dir is None:
        return not_found(request)
    mails = [_row(m) for m in reversed(read_mails(mail_dir))]
    return render(
        request,
        "mail_sink.html",
        title="Post i udviklingsmiljøet",
        breadcrumbs=[("Post i udviklingsmiljøet", None)],
        mails=mails,
        mail_dir=str(mail_dir),
    )


@router.get("/dev/post/{name}", response_class=HTMLResponse)
async def mail_page(request: Request, name: str) -> Response:
    mail_dir = _mail_dir(request)
    if mail_dir is None or not NAME.fullmatch(name) or not (mail_dir / name).is_file():
        return not_found(request)
    mail = read_mail(mail_dir / name)
    row = _row(mail)
    return render(
        request,
        "mail_sink_mail.html",
        title=row["subject"],
        breadcrumbs=[("Post i udviklingsmiljøet", "/dev/post"), (row["subject"], None)],
        mail=row,
        cc=", ".join(mail.cc),
        envelope_to=", ".join(mail.envelope_to),
        message_id=mail.message_id or "",
        body=linked(mail.body),
    )

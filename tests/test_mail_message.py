"""The MIME message a letter becomes (mail/channel.py `EmailChannel.build`), read back with the
standard library's modern parser, as a mail program would."""

from __future__ import annotations

import email
import email.policy

import pytest

from mail.channel import Attachment, EmailChannel, OutgoingLetter
from settings import Settings

BODY = "Kære Søren Ærø Østergård\n\nLink: https://kommune.example/sag/" + "x" * 90 + "\n"


def parsed(letter: OutgoingLetter) -> email.message.EmailMessage:
    raw = EmailChannel(Settings()).build(letter).as_bytes()
    assert raw.isascii()  # 7-bit on the wire: quoted-printable, base64, RFC 2047/2231
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_danish_letter_reads_back_exactly():
    letter = OutgoingLetter(
        "<case-X.receipt@kommune.example>",
        ["soeren@nordjysk-staal.dk", "post@nordjysk-staal.dk"],
        "Kvittering for jeres sag BYG-1 – lagerhal på 2.400 m²",
        BODY,
    )
    m = parsed(letter)
    assert m["Subject"] == letter.subject
    assert m["From"] == "Erhvervsservice <erhvervsservice@kommune.example>"
    assert [a.addr_spec for a in m["To"].addresses] == letter.recipients
    assert m["Message-ID"] == letter.message_id and m["Date"]
    assert m.get_content_type() == "text/plain"
    assert m["Content-Transfer-Encoding"] == "quoted-printable"
    assert m.get_content() == BODY


def test_an_ascii_subject_is_written_as_it_is():
    raw = EmailChannel(Settings()).build(
        OutgoingLetter("<a@kommune.example>", ["a@b.dk"], "Sag BYG-2026-00123", "Hej")
    )
    assert raw["Subject"] == "Sag BYG-2026-00123"


def test_an_attachment_keeps_its_name_type_and_bytes():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    m = parsed(
        OutgoingLetter(
            "<a@kommune.example>",
            ["a@b.dk"],
            "Formøde",
            BODY,
            (Attachment("formøde.ics", "text/calendar", ics, (("method", "REQUEST"),)),),
        )
    )
    assert m.get_content_type() == "multipart/mixed"
    assert m.get_body(("plain",)).get_content() == BODY
    (part,) = list(m.iter_attachments())
    assert part.get_filename() == "formøde.ics"
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    assert part.get_payload(decode=True) == ics


@pytest.mark.parametrize(
    "field", ["subject", "recipient", "message_id"], ids=["subject", "recipient", "message-id"]
)
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r"])
def test_a_line_break_in_a_header_is_refused_not_sent(field, brk):
    values = {"subject": "Hej", "recipient": "a@b.dk", "message_id": "<a@kommune.example>"}
    values[field] += f"{brk}Bcc: evil@example.com"
    letter = OutgoingLetter(values["message_id"], [values["recipient"]], values["subject"], "x")
    with pytest.raises(ValueError, match="line break"):
        EmailChannel(Settings()).build(letter)

"""Files a company delivers on its case page: read with a size limit, the type decided by the
content (not the name or the browser's word), the name reduced to a safe base name, checked
before anything is stored.

Accepted: PDF, PNG and JPEG (sniffed with `filetype`; a PDF must also start with ``%PDF-``).
HEIC and TIFF are refused: caseworkers' tools do not all open them, and a phone photo can be
sent as JPEG. The refusals are Danish sentences for the page's error summary.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import filetype
from starlette.requests import Request

ACCEPTED = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and the part headers
MAX_NAME = 200


class UploadRefused(Exception):
    """A file that is not stored; str() is the Danish sentence for the error summary."""


class TooLarge(UploadRefused):
    pass


def megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return (
        f"{value:.0f} MB"
        if value >= 10 or value == int(value)
        else f"{value:.1f} MB".replace(".", ",")
    )


async def limited_body(request: Request, max_file_bytes: int) -> bytes:
    """The request body, read no further than the file limit and the form's overhead:
    `TooLarge` as soon as it passes (the rest is not read)."""
    limit = max_file_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(too_large_message(max_file_bytes))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(too_large_message(max_file_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def replayed(request: Request, body: bytes) -> Request:
    """A request that reads *body* (already read, within the limit) as its body."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def too_large_message(max_bytes: int) -> str:
    return f"Filen er for stor. En fil må højst fylde {megabytes(max_bytes)}."


def safe_filename(name: str | None) -> str:
    """The uploaded file's name as stored and shown: refused when it holds path parts or
    control characters (a browser sends only the base name), else NFC-normalised."""
    if not name or not name.strip():
        raise UploadRefused("Vælg den fil, I vil sende.")
    if "/" in name or "\\" in name or name.strip() in (".", "..") or name.startswith(".."):
        raise UploadRefused(
            "Filens navn må ikke indeholde mapper eller stier (tegnene / og \\). "
            "Omdøb filen, og send den igen."
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        raise UploadRefused(
            "Filens navn indeholder usynlige tegn eller styretegn. Omdøb filen, og send den igen."
        )
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) > MAX_NAME:
        raise UploadRefused(f"Filens navn er for langt (højst {MAX_NAME} tegn). Omdøb filen.")
    return name


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    sha256: str


def check_file(name: str | None, data: bytes, max_bytes: int) -> CheckedFile:
    """The file as it may be stored, or `UploadRefused` saying why not."""
    filename = safe_filename(name)
    if not data:
        raise UploadRefused("Filen er tom. Vælg en fil med indhold.")
    if len(data) > max_bytes:
        raise TooLarge(too_large_message(max_bytes))
    kind = filetype.guess(data[:8192])
    mime = kind.mime if kind is not None else None
    if mime not in ACCEPTED or (mime == "application/pdf" and not data.startswith(b"%PDF-")):
        raise UploadRefused(
            "Filen er hverken en PDF-fil eller et billede i PNG- eller JPEG-format. "
            "Vi bedømmer filen efter dens indhold, ikke dens navn. Gem den som PDF, og send den "
            "igen."
        )
    return CheckedFile(filename, mime, data, hashlib.sha256(data).hexdigest())

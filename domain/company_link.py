"""The signed link to a company's own case page (``/sag?t=<token>``).

The token is itsdangerous' URL-safe timed signature (HMAC-SHA1 key derivation, salt
"company-page") of ``{"c": <case id>, "l": <link id>}``: the case id is the workflow id
(``case-<reference>``, no personal data) and the link id names the row in ``company_links``
that says whether the link was revoked. The signature carries its issue time; a token older
than the configured number of days is expired. The clock is a parameter, so tests pin it.

A link id is derived from the case and the letter that carries it, so a letter sent again
after a retry carries the same link (and the stored letter text wins anyway).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SALT = "company-page"
PATH = "/sag"
_CASE_ID = re.compile(r"case-[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LINK_ID = re.compile(r"[0-9a-f]{32}")
MAX_TOKEN_LENGTH = 400


class LinkProblem(StrEnum):
    tampered = "tampered"  # not ours, altered, or of the wrong shape
    expired = "expired"
    revoked = "revoked"


@dataclass(frozen=True)
class CaseLink:
    case_id: str
    link_id: str

    @property
    def reference(self) -> str:
        return self.case_id.removeprefix("case-")


class LinkRefused(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _serializer(secret: bytes, now: float | None) -> URLSafeTimedSerializer:
    """itsdangerous' serializer; with *now*, its signer's clock is pinned to it."""
    if now is None:
        return URLSafeTimedSerializer(secret, salt=SALT)

    class PinnedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now)

    return URLSafeTimedSerializer(secret, salt=SALT, signer=PinnedSigner)


def link_id_for(case_id: str, letter_key: str) -> str:
    """The link id of the link a letter carries: the same letter, the same link."""
    return hashlib.sha256(f"company-link\n{case_id}\n{letter_key}".encode()).hexdigest()[:32]


def make_token(secret: bytes, case_id: str, link_id: str, now: float | None = None) -> str:
    if not _CASE_ID.fullmatch(case_id) or not _LINK_ID.fullmatch(link_id):
        raise ValueError("a case page link needs a case id and a link id of the right shape")
    return _serializer(secret, now).dumps({"c": case_id, "l": link_id})


def read_token(secret: bytes, token: str, max_age_days: int, now: float | None = None) -> CaseLink:
    """The case and link of a valid, unexpired token; `LinkRefused` saying why otherwise
    (revocation is the caller's check: it needs the database)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused(LinkProblem.tampered)
    serializer = _serializer(secret, now)
    try:
        payload = serializer.loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise LinkRefused(LinkProblem.expired) from None
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused(LinkProblem.tampered) from None
    if not isinstance(payload, dict) or set(payload) != {"c", "l"}:
        raise LinkRefused(LinkProblem.tampered)
    case_id, link_id = payload["c"], payload["l"]
    if not (
        isinstance(case_id, str)
        and isinstance(link_id, str)
        and _CASE_ID.fullmatch(case_id)
        and _LINK_ID.fullmatch(link_id)
    ):
        raise LinkRefused(LinkProblem.tampered)
    return CaseLink(case_id, link_id)


def page_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}?t={token}"


def signing_secret(link_secret: str, web_secret: str) -> bytes:
    """The links' secret: its own when configured, else the web service's."""
    return (link_secret or web_secret).encode()


def valid_case_id(case_id: str) -> bool:
    return bool(_CASE_ID.fullmatch(case_id))

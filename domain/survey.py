"""The satisfaction-survey link (commitment 9).

The link carries an HMAC token of the case id, so only the applicant who got the e-mail can
answer for that case. Same case and secret, same link: the closing step may run again safely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOKEN_LENGTH = 32


def survey_token(case_id: str, secret: bytes) -> str:
    """HMAC-SHA256 of the case id, URL-safe base64 without padding, first 32 characters."""
    digest = hmac.new(secret, case_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:TOKEN_LENGTH]


def survey_url(base_url: str, case_id: str, secret: bytes) -> str:
    """The survey link for the case's applicant."""
    return f"{base_url.rstrip('/')}/survey/{case_id}?token={survey_token(case_id, secret)}"


def verify_survey_token(case_id: str, token: str, secret: bytes) -> bool:
    """True if ``token`` is the case's token (constant-time comparison)."""
    expected = survey_token(case_id, secret).encode("ascii")
    return hmac.compare_digest(expected, token.encode("utf-8"))

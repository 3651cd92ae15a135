"""Tests for the survey link (domain.survey)."""

import base64
import hashlib
import hmac

from domain.survey import survey_token, survey_url, verify_survey_token

SECRET = b"test-secret"


def test_token_is_the_truncated_urlsafe_hmac() -> None:
    digest = hmac.new(SECRET, b"case-BYG-2026-00123", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]
    token = survey_token("case-BYG-2026-00123", SECRET)
    assert token == expected
    assert len(token) == 32
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_is_stable_and_depends_on_case_and_secret() -> None:
    token = survey_token("case-A", SECRET)
    assert survey_token("case-A", SECRET) == token
    assert survey_token("case-B", SECRET) != token
    assert survey_token("case-A", b"other") != token


def test_url() -> None:
    token = survey_token("case-A", SECRET)
    expected = f"https://erhverv.example.dk/survey/case-A?token={token}"
    assert survey_url("https://erhverv.example.dk", "case-A", SECRET) == expected
    assert survey_url("https://erhverv.example.dk/", "case-A", SECRET) == expected
    assert survey_url("https://erhverv.example.dk/", "case-A", SECRET) == survey_url(
        "https://erhverv.example.dk", "case-A", SECRET
    )


def test_verify() -> None:
    token = survey_token("case-A", SECRET)
    assert verify_survey_token("case-A", token, SECRET)
    assert not verify_survey_token("case-B", token, SECRET)
    assert not verify_survey_token("case-A", token, b"other")
    assert not verify_survey_token("case-A", token[:-1], SECRET)
    assert not verify_survey_token("case-A", "", SECRET)
    assert not verify_survey_token("case-A", "æøå" + token[3:], SECRET)

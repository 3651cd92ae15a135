"""The case page's signed link (pinned clocks: valid to the last second, expired after,
tampered in every part), the company's CVR cookie, the upload checks, and the link line in
the company's letters (not in the staff's)."""

from __future__ import annotations

import base64

import pytest

from domain import company_link
from domain.company_link import LinkProblem, LinkRefused
from mail.render import COMPANY_PAGE_LETTERS, render_letter
from schemas.letters import LetterKind
from tests.test_letters import facts_for
from web.company import uploads
from web.company.identity import MAX_AGE, company_cookie, read_company_cookie

SECRET = b"test-secret"
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
CASE = "case-BYG-2027-0001"
LINK = company_link.link_id_for(CASE, "receipt")


def refused(token: str, now: float, secret: bytes = SECRET, days: int = 90) -> LinkProblem:
    with pytest.raises(LinkRefused) as caught:
        company_link.read_token(secret, token, days, now=now)
    return caught.value.problem


def test_a_link_holds_the_case_and_link_ids_and_works_until_it_expires():
    token = company_link.make_token(SECRET, CASE, LINK, now=T0)
    for later in (0, 1, 89 * 86400, 90 * 86400):
        found = company_link.read_token(SECRET, token, 90, now=T0 + later)
        assert found == company_link.CaseLink(CASE, LINK)
        assert found.reference == "BYG-2027-0001"
    assert refused(token, T0 + 90 * 86400 + 1) == LinkProblem.expired
    assert refused(token, T0 + 400 * 86400) == LinkProblem.expired
    assert company_link.read_token(SECRET, token, 400, now=T0 + 399 * 86400).case_id == CASE


def test_the_same_letter_carries_the_same_link_id_and_no_personal_data():
    assert company_link.link_id_for(CASE, "receipt") == LINK
    assert company_link.link_id_for(CASE, "contact_letter") != LINK
    assert company_link.link_id_for("case-OTHER", "receipt") != LINK
    token = company_link.make_token(SECRET, CASE, LINK, now=T0)
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert decoded == f'{{"c":"{CASE}","l":"{LINK}"}}'
    url = company_link.page_url("https://erhverv.kommune.dk/", token)
    assert url == f"https://erhverv.kommune.dk/sag?t={token}"


def test_a_tampered_or_foreign_token_is_refused_as_tampered():
    token = company_link.make_token(SECRET, CASE, LINK, now=T0)
    payload, stamp, signature = token.split(".")
    other = company_link.make_token(SECRET, "case-OTHER-1", LINK, now=T0)
    forged = [
        "",
        "x",
        "a" * 1000,
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        f"{other.split('.')[0]}.{stamp}.{signature}",  # another case under this signature
        f"{payload}.{other.split('.')[1]}x.{signature}",
        f"{payload}.{stamp}",
        token + ".x",
    ]
    for bad in forged:
        assert refused(bad, T0) == LinkProblem.tampered, bad
    assert refused(token, T0, secret=b"another-secret") == LinkProblem.tampered
    # A token of the survey's kind or another salt is not a case page link.
    from itsdangerous import URLSafeTimedSerializer

    other_salt = URLSafeTimedSerializer(SECRET, salt="booking").dumps({"c": CASE, "l": LINK})
    assert refused(other_salt, T0 + 1) == LinkProblem.tampered
    wrong_shape = URLSafeTimedSerializer(SECRET, salt=company_link.SALT).dumps(
        {"c": "BYG-1", "l": LINK}
    )
    assert refused(wrong_shape, T0 + 1) == LinkProblem.tampered
    with pytest.raises(ValueError):
        company_link.make_token(SECRET, "BYG-1", LINK)


def test_the_links_secret_is_its_own_when_set():
    assert company_link.signing_secret("", "web") == b"web"
    assert company_link.signing_secret("own", "web") == b"own"


def test_the_company_cookie_holds_a_verified_cvr_for_eight_hours():
    cookie = company_cookie(SECRET, "29189420", now=T0)
    assert read_company_cookie(SECRET, cookie, now=T0 + MAX_AGE - 1) == "29189420"
    assert read_company_cookie(SECRET, cookie, now=T0 + MAX_AGE) is None
    assert read_company_cookie(SECRET, cookie, now=T0 - 10) is None  # from the future
    assert read_company_cookie(b"other", cookie, now=T0) is None
    _, issued, mac = cookie.split(".")
    assert read_company_cookie(SECRET, f"10150817.{issued}.{mac}", now=T0) is None
    assert read_company_cookie(SECRET, "", now=T0) is None
    assert read_company_cookie(SECRET, "29189420", now=T0) is None
    with pytest.raises(ValueError):
        company_cookie(SECRET, "29189421")  # modulus-11 fails
    # A staff cookie signed with the same secret is not a company cookie.
    from web.staff import session_cookie

    staff = session_cookie(SECRET, "29189420", now=T0)
    assert read_company_cookie(SECRET, staff, now=T0) is None


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb")


def test_files_are_judged_by_their_content_and_names_by_their_form():
    for data, mime in ((PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")):
        checked = uploads.check_file("Tegning 1 – æøå.pdf", data, 1000)
        assert checked.content_type == mime and len(checked.sha256) == 64
        assert checked.filename == "Tegning 1 – æøå.pdf"
    hostile = [
        ("plan.pdf", b"MZ\x90\x00" + b"\x00" * 64, "hverken en PDF-fil"),  # a Windows program
        ("plan.pdf", b"<html><script>alert(1)</script></html>", "hverken en PDF-fil"),
        ("plan.pdf", b"GIF89a" + b"\x00" * 32, "hverken en PDF-fil"),
        ("plan.pdf", b"\x00\x00%PDF-1.4", "hverken en PDF-fil"),
        ("plan.pdf", b"", "Filen er tom"),
        ("plan.pdf", PDF + b"x" * 1000, "Filen er for stor"),
        ("../../etc/passwd.pdf", PDF, "mapper eller stier"),
        ("C:\\Users\\plan.pdf", PDF, "mapper eller stier"),
        ("..", PDF, "mapper eller stier"),
        ("plan\x00.pdf", PDF, "styretegn"),
        ("plan\u202efdp.exe", PDF, "styretegn"),
        ("", PDF, "Vælg den fil"),
        ("a" * 201, PDF, "for langt"),
    ]
    for name, data, message in hostile:
        with pytest.raises(uploads.UploadRefused) as caught:
            uploads.check_file(name, data, 1000)
        assert message in str(caught.value), (name, str(caught.value))
    assert uploads.too_large_message(20 * 1024 * 1024) == (
        "Filen er for stor. En fil må højst fylde 20 MB."
    )


def test_every_company_letter_links_the_case_page_and_no_staff_letter_does():
    url = "https://erhverv.kommune.dk/sag?t=abc.def.ghi"
    for kind in LetterKind:
        facts = facts_for(kind)
        _, body = render_letter(kind, facts, case_page_url=url, case_page_days=90)
        if kind in COMPANY_PAGE_LETTERS:
            assert url in body, kind
            assert "virker i 90 dage" in body, kind
            if kind in (LetterKind.decision, LetterKind.closed_notice):
                assert f"I kan se jeres sag her: {url}" in body
            else:
                assert f"I kan følge jeres sag og sende materiale her: {url}" in body, kind
        else:
            assert url not in body and "/sag?t=" not in body, kind
        _, without = render_letter(kind, facts)
        assert "/sag?t=" not in without and "I kan følge jeres sag" not in without

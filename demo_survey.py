"""The demo's applicants (see demo.py): the survey link from the e-mail as it arrived in the
SMTP sink, and the survey page answered as a browser does (the CSRF cookie and token, the
form's request id, an Origin header), each radio button chosen by its Danish label."""

from __future__ import annotations

import asyncio
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from demo_case import ActionFailed, Tally, send
from demo_content import CaseScript, survey_choice
from stack.smtp_sink import read_mail

SURVEY_LINK = re.compile(
    r"https?://[^\s<>\"]+?/survey/(?P<case>case-[A-Za-z0-9._-]+)\?token=[\w-]+"
)


class SurveyMails:
    """The survey links in the SMTP sink's folder, read as the mails arrive (each file once)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.seen: set[str] = set()
        self.links: dict[str, str] = {}
        self.scanned = 0.0

    def scan(self) -> None:
        if time.monotonic() - self.scanned < 0.5:
            return
        self.scanned = time.monotonic()
        for path in sorted(self.mail_dir.glob("*.eml")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            try:
                body = read_mail(path).body
            except (OSError, ValueError):
                continue
            for match in SURVEY_LINK.finditer(body):
                self.links[match.group("case")] = match.group(0)

    async def link(self, case_id: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            self.scan()
            if case_id in self.links or time.monotonic() > deadline:
                return self.links.get(case_id)
            await asyncio.sleep(0.5)


class FormReader(HTMLParser):
    """The first POST form of a page: its fields, and each radio button's label text."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.in_form = self.done = False
        self.inputs: list[dict[str, str]] = []
        self.textareas: list[str] = []
        self.labels: dict[str, str] = {}
        self._label_for: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("method", "get").lower() == "post":
            self.in_form, self.action = True, a.get("action", "")
        elif self.in_form and tag == "input":
            if self._label_for == "" and not a.get("id"):  # an input inside its label
                a["id"] = f"_input{len(self.inputs)}"
                self._label_for = a["id"]
            self.inputs.append(a)
        elif self.in_form and tag == "textarea" and a.get("name"):
            self.textareas.append(a["name"])
        elif tag == "label":
            self._label_for, self._label_text = a.get("for", ""), []

    def handle_data(self, data):
        if self._label_for is not None:
            self._label_text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True
        elif tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split()).lower()
            self._label_for = None


def score_of(label: str, value: str) -> int | None:
    """The five-point scale as the page words it (or a numeric value): 5 .. 1, 0 "ved ikke"."""
    for words, score in (
        ("meget utilfreds", 1),
        ("meget tilfreds", 5),
        ("ved ikke", 0),
        ("hverken", 3),
        ("utilfreds", 2),
        ("tilfreds", 4),
    ):
        if words in label:
            return score
    return int(value) if value.isdigit() else None


async def answer_survey(base_url: str, link: str, script: CaseScript, tally: Tally) -> None:
    """The applicant opens the link and sends the form, as a browser does (CSRF cookie and
    token, the form's own request id). Each company comes from its own address."""
    split = urlsplit(link)
    headers = {"X-Forwarded-For": script.address, "User-Agent": "erhvervssag-demo"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as browser:
        page = await send(browser, "GET", f"{split.path}?{split.query}", "survey page")
        # The survey is recorded by its own workflow a moment after the mail leaves: the page
        # says "not ready yet" (404) until then, as a person clicking at once would see.
        for _ in range(40):
            if page.status_code != 404:
                break
            await asyncio.sleep(0.5)
            page = await send(browser, "GET", f"{split.path}?{split.query}", "survey page")
        if page.status_code == 404:
            tally.survey_page_missing += 1
            return
        if page.status_code >= 400:
            raise ActionFailed(f"survey page: {page.status_code}")
        form = FormReader()
        form.feed(page.text)
        if form.action is None:
            raise ActionFailed("survey page: no form to answer")
        fields: dict[str, str] = {}
        groups: dict[str, list[tuple[int, str]]] = {}
        for a in form.inputs:
            kind, name = a.get("type", "text").lower(), a.get("name", "")
            if kind == "hidden" and name:
                fields[name] = a.get("value", "")
            elif kind == "radio" and name:
                if "checked" in a:
                    tally.surveys_already_answered += 1  # a second visit shows the answer
                    return
                value = a.get("value", "")
                label = form.labels.get(a.get("id", ""), "")
                score = score_of(label, value)
                if score is None:  # no label in the scale's words: the value's own words
                    score = score_of(value.replace("_", " ").replace("-", " ").lower(), value)
                if score is not None:
                    groups.setdefault(name, []).append((score, a.get("value", "")))
        for name, options in groups.items():
            wanted = survey_choice(script, name)
            fields[name] = min(options, key=lambda o: abs(o[0] - wanted))[1]
        if script.comment and form.textareas:
            fields[form.textareas[0]] = script.comment
        action = urljoin(str(page.url), form.action or str(page.url))
        for _ in range(5):
            sent = await send(
                browser, "POST", action, "survey answer", data=fields, headers={"Origin": base_url}
            )
            if sent.status_code != 429:
                break
            await asyncio.sleep(int(sent.headers.get("retry-after", "5")))
        if sent.status_code >= 400:
            raise ActionFailed(f"survey answer: {sent.status_code}")
        tally.surveys_answered += 1

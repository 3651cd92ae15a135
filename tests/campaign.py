"""Counting and printing for the bad-input campaigns (tests/test_campaigns_*.py).

A `Tally` per boundary counts what was generated, what was refused (by status or exit code
and error type) and what was accepted, and collects what must never happen: a server error
(5xx), a stack trace in an answer, an unclear answer (a 4xx that is no problem document or no
Danish page, a CLI failure without a message). `Tally.check()` prints one line of counts and
asserts the zeros. `draw()` collects hypothesis' examples up front (derandomized: the same
inputs every run), for campaigns that send them from a thread or a CLI runner.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# What a stack trace looks like in any answer (HTML, JSON, CLI output, a log line).
TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|site-packages/"
    r"|pydantic_core\._pydantic_core|\bat 0x[0-9a-f]{6,}"
)
PROBLEM = "application/problem+json"
DANISH_PAGE = '<html lang="da">'


def has_trace(text: str) -> bool:
    return bool(TRACE.search(text))


def campaign_settings(n: int):
    """Hypothesis settings of a campaign: *n* examples, no deadline, no database, the same
    examples every run, nothing shrunk (a finding is reported with its whole input)."""
    return settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def draw(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """*n* examples of *strategy* from hypothesis' engine (duplicates kept: each is sent)."""
    found: list[Any] = []

    @campaign_settings(n)
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


def shown(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Tally:
    """The counts of one boundary's campaign."""

    boundary: str
    generated: int = 0
    refused: Counter = field(default_factory=Counter)
    accepted: Counter = field(default_factory=Counter)
    server_errors: int = 0
    traces: int = 0
    unclear: int = 0
    stuck: int = 0
    half_written: int = 0
    findings: list[str] = field(default_factory=list)

    def finding(self, what: str, example: Any, answer: str = "") -> None:
        if len(self.findings) < 12:
            self.findings.append(f"{what}: input={shown(example)} answer={answer[:400]!r}")

    def refuse(self, how: str) -> None:
        self.refused[how] += 1

    def accept(self, how: str) -> None:
        self.accepted[how] += 1

    # ------------------------------------------------------------------ HTTP answers
    def http(self, example: Any, status: int, content_type: str, text: str, *, api: bool) -> bool:
        """Count one HTTP answer; True when it was accepted (2xx or 3xx)."""
        self.generated += 1
        if has_trace(text):
            self.traces += 1
            self.finding("stack trace", example, text)
        if status >= 500:
            self.server_errors += 1
            self.finding(f"server error {status}", example, text)
            return False
        if status < 400:
            self.accept(str(status))
            return True
        if api:
            kind = problem_type(content_type, text, status)
            if kind is None:
                self.unclear += 1
                self.finding(f"{status} without a problem document", example, text)
            self.refuse(f"{status} {kind}")
        else:
            if not (content_type.startswith("text/html") and DANISH_PAGE in text):
                self.unclear += 1
                self.finding(f"{status} without a Danish page", example, text)
            self.refuse(str(status))
        return False

    # ------------------------------------------------------------------ the result
    def line(self) -> str:
        def counts(c: Counter) -> str:
            return ", ".join(f"{k}×{n}" for k, n in sorted(c.items())) or "-"

        return (
            f"campaign {self.boundary}: generated {self.generated}; "
            f"refused {sum(self.refused.values())} ({counts(self.refused)}); "
            f"accepted {sum(self.accepted.values())} ({counts(self.accepted)}); "
            f"server errors {self.server_errors}, stack traces {self.traces}, "
            f"unclear {self.unclear}, stuck {self.stuck}, half-written {self.half_written}"
        )

    def check(self, minimum: int) -> None:
        print("\n" + self.line())
        for found in self.findings:
            print(f"  FINDING {found}")
        assert self.generated >= minimum, (self.generated, minimum)
        assert self.generated == sum(self.refused.values()) + sum(self.accepted.values()) + (
            self.server_errors
        ), self.line()
        assert (self.server_errors, self.traces, self.unclear) == (0, 0, 0), self.line()
        assert (self.stuck, self.half_written) == (0, 0), self.line()


def problem_type(content_type: str, text: str, status: int) -> str | None:
    """The problem document's type (its `type` or `title`), or None if *text* is none."""
    if not content_type.startswith(PROBLEM):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
        return None
    kind = str(body.get("type") or body.get("title"))
    return kind.rsplit("/", 1)[-1][:40]

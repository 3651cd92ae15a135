"""The doors' and activities' way to personal fields: seal them going in, open them coming out.

A case's personal fields (its contact's name, e-mail and phone, and the company's own words:
the project description, a project change, a note to a pre-dialogue request, a reason to
withdraw) are sealed with the case's data key (`personal.data_key`) before they reach
Temporal, so no workflow history holds them in the clear, and erasing the case's key
(`personal.erase_case_key`) makes every copy unreadable: history, queries, stored events.

Workflows never open a sealed value (they only carry it). What reads one goes through a
`Vault`: the letter activity (it must know where to send and whom to greet), and the doors'
read paths (`case_api.get_state`, the audit trail), which hand people plain text, or
"[slettet]" once the case is erased.

A door's input that already looks sealed is refused: nobody outside may smuggle a value
that would open as something else.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import BaseModel

from personal import CaseKeyErased, case_key_row, data_key, opening_key, opening_key_of
from schemas.sealed import (
    ERASED_PLACEHOLDER,
    SEALED_TOKEN,
    SealedValueError,
    is_sealed,
    looks_sealed,
    open_with_key,
    seal,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from schemas.intake import CaseIntake
    from settings import Settings

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger(__name__)

__all__ = ["PersonalInputError", "Vault"]


class PersonalInputError(ValueError):
    """A door's personal input that cannot be sealed; the message names the field only."""


def _strings(tree: Any):
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _strings(value)
    elif isinstance(tree, list | tuple):
        for value in tree:
            yield from _strings(value)


def _has_sealed(tree: Any) -> bool:
    return any(SEALED_TOKEN.search(s) for s in _strings(tree))


def _revalidated(model: M, opened: Any) -> M:
    return type(model).model_validate_json(json.dumps(opened, ensure_ascii=False))


def _open_tree(key: bytes | None, case_id: str, tree: Any) -> Any:
    """*tree* with its sealed values opened with *key*; "[slettet]" where *key* is None."""

    def one(match) -> str:
        token = match[0]
        if not is_sealed(token):
            return token  # not a sealed value after all (plain text of an old case)
        if key is None:
            return ERASED_PLACEHOLDER
        try:
            return open_with_key(key, case_id, token)
        except SealedValueError:  # pasted from another case, or tampered: shown as is
            log.warning("sealed value does not open", case_id=case_id)
            return token

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return SEALED_TOKEN.sub(one, node)
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    return walk(tree)


class Vault:
    """Seals and opens one case's personal fields (Postgres for the keys, no Temporal)."""

    def __init__(self, sessions: async_sessionmaker, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    # ------------------------------------------------------------------ sealing
    async def seal_texts(self, case_id: str, texts: dict[str, str]) -> dict[str, str]:
        """*texts* (field name -> plain text) sealed for *case_id*; empty texts stay empty."""
        for field, text in texts.items():
            if looks_sealed(text):  # would open as something else
                raise PersonalInputError(f"{field}: a text may not begin with 'sealed:'")
        if not any(texts.values()):
            return dict(texts)
        key = await data_key(self.sessions, self.settings, case_id)
        return {f: seal(key, case_id, t) if t else t for f, t in texts.items()}

    async def seal_fields(self, case_id: str, model: M, *fields: str) -> M:
        """A copy of *model* with the named string fields sealed."""
        texts = {f: getattr(model, f) for f in fields}
        return model.model_copy(update=await self.seal_texts(case_id, texts))

    async def seal_intake(self, intake: CaseIntake) -> CaseIntake:
        """The intake with its contact person and project description sealed (one key)."""
        c = intake.contact
        texts = {"name": c.name, "email": c.email, "phone": c.phone}
        texts["project_description"] = intake.project_description
        sealed = await self.seal_texts(intake.workflow_id, texts)
        description = sealed.pop("project_description")
        return intake.model_copy(
            update={"contact": c.model_copy(update=sealed), "project_description": description}
        )

    # ------------------------------------------------------------------ opening
    async def open_tree(self, case_id: str, tree: Any) -> Any:
        """*tree* (JSON-like: dicts, lists, strings) with every sealed value in every string
        opened, also one inside a longer text; "[slettet]" for an erased case. Without a
        sealed value in it, *tree* itself is returned (no database call)."""
        if not _has_sealed(tree):
            return tree
        return _open_tree(await opening_key(self.sessions, self.settings, case_id), case_id, tree)

    async def open_model(self, case_id: str, model: M) -> M:
        """A copy of *model* with its sealed values opened (validated again as its type)."""
        dumped = model.model_dump(mode="json")
        opened = await self.open_tree(case_id, dumped)
        return model if opened is dumped else _revalidated(model, opened)

    async def open_for_letter(self, session: AsyncSession, case_id: str, model: M) -> M:
        """*model* opened for a letter, in the caller's *session* with one read of the case's
        key row: CaseKeyErased once the case is erased (it gets no more letters), with or
        without a sealed value in *model*."""
        row = await case_key_row(session, case_id)
        if row is not None and row.erased_at is not None:
            raise CaseKeyErased(f"The personal data of case {case_id!r} is erased")
        dumped = model.model_dump(mode="json")
        if not _has_sealed(dumped):
            return model
        key = opening_key_of(self.settings, case_id, row)
        return _revalidated(model, _open_tree(key, case_id, dumped))

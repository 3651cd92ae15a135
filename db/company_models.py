"""Tables of the company's own case page (issue 8, migration 0004): the signed links the
letters carry (revocable), the files companies upload, and the page's audit trail.

None of them holds personal data beyond what the company itself uploaded: links and audit
rows carry ids, kinds, codes, sizes and checksums.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import TS, Base


class CompanyLink(Base):
    """One signed link to a case's page, as one letter carried it. The token holds the case
    id and this link id; the row says whether the link still works (``revoked_at``)."""

    __tablename__ = "company_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(80), index=True)
    letter_key: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(TS)


class MaterialFile(Base):
    """A file a company delivered for one checklist item. The content is in ``content``
    (Postgres) or in ``stored_name`` under the configured upload folder; ``request_id`` makes
    a double submit store it once."""

    __tablename__ = "material_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(80), index=True)
    material_code: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    stored_name: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class WebAuditEvent(Base):
    """What happened on the company's page (views and actions), beside the workflow's own
    audit trail in ``case_events``; ids, kinds and codes only."""

    __tablename__ = "web_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    data: Mapped[dict] = mapped_column(JSONB)

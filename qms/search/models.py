"""The search index: one row per searchable item (and per released document revision)."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qms.extensions import db
from qms.models import UTCDateTime, utcnow

SEARCH_TYPES = (
    "document",
    "record",
    "nonconformity",
    "action",
    "context",
    "risk",
    "supplier",
    "equipment",
)


class SearchEntry(db.Model):
    """What one item says, kept twice: as shown (``text``) and normalised for matching."""

    __tablename__ = "search_entry"
    __table_args__ = (UniqueConstraint("type", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    key: Mapped[str] = mapped_column(String(60), index=True)
    # A document's revision label; empty for items that have one version only.
    version: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    # NFKC + casefold + collapsed spaces of title and text; matched with LIKE '%term%',
    # which finds any run of Chinese characters where word-token indexes do not.
    norm: Mapped[str] = mapped_column(Text)
    norm_title: Mapped[str] = mapped_column(Text)
    # The version people work to (a document's effective revision); searches without
    # "all revisions" see only these.
    current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    endpoint: Mapped[str | None] = mapped_column(String(80))
    params: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

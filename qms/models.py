"""Small shared tables and column helpers used by every domain."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from qms.extensions import db


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Counter(db.Model):
    """A named sequence for document numbers (``CR-2026-0001`` …), safe under concurrency."""

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def aware(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UTCDateTime = DateTime(timezone=True)


class GitRef(db.Model):
    """Where the database has acknowledged each managed ref of the document repository.

    Written in the same transaction as the work that moves the ref (see :mod:`qms.uow`),
    so a ref that git holds elsewhere was moved by work that never committed.
    """

    __tablename__ = "git_ref"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    commit: Mapped[str] = mapped_column(String(40))

"""Small shared tables and column helpers used by every domain."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from qms.clock import travelled
from qms.extensions import db


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC (the demo's, while it loads)."""
    return travelled() or datetime.now(UTC)


class Counter(db.Model):
    """A named sequence for document numbers (``CR-2026-0001`` …), safe under concurrency."""

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def aware(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class UTCDateTime(TypeDecorator):
    """A timestamp stored with its time zone and always read back aware, in UTC.

    PostgreSQL keeps the zone; SQLite hands back naive values, which the API would then
    send without an offset (not an RFC 3339 date-time, as its OpenAPI document says).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return aware(value)


class GitRef(db.Model):
    """Where the database has acknowledged each managed ref of the document repository.

    Written in the same transaction as the work that moves the ref (see :mod:`qms.uow`),
    so a ref that git holds elsewhere was moved by work that never committed.
    """

    __tablename__ = "git_ref"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    commit: Mapped[str] = mapped_column(String(40))

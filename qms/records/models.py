"""Filled records, their versions, drafts, links and attached files.

A record is pinned to the form revision (and its git commit) it was filled against. Its
values are never changed in place: every amendment adds a :class:`RecordVersion`, and the
record row only points at the newest values, which :class:`RecordValue` indexes so lists
can filter by field on SQLite and PostgreSQL alike.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

RECORD_STATUSES = ("submitted", "amended", "void")
LINK_TYPES = ("nonconformity", "audit", "action", "complaint", "record")


class Record(db.Model):
    # The record list of one form, or of one department, newest first.
    __table_args__ = (
        Index("ix_record_form_submitted", "form_code", "submitted_at"),
        Index("ix_record_department_submitted", "department_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # <FORM CODE>/<YEAR>/<6-digit sequence>, e.g. RF-07-03-01/2026/000042
    number: Mapped[str] = mapped_column(String(60), unique=True)
    form_code: Mapped[str] = mapped_column(String(40), index=True)
    form_title: Mapped[str] = mapped_column(String(300))
    form_revision: Mapped[str] = mapped_column(String(10), index=True)
    form_commit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    values: Mapped[dict] = mapped_column(JSON)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # List pages show both on every row.
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    versions: Mapped[list["RecordVersion"]] = relationship(
        order_by="RecordVersion.version", back_populates="record"
    )
    links: Mapped[list["RecordLink"]] = relationship(order_by="RecordLink.created_at")


class RecordVersion(db.Model):
    """One version of a record's values: the original (1) and each amendment."""

    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    record: Mapped[Record] = relationship(back_populates="versions")
    created_by: Mapped[User] = relationship(lazy="joined")


class RecordValue(db.Model):
    """A searchable copy of one current value (table cells as ``table.column``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    key: Mapped[str] = mapped_column(String(130), index=True)
    value: Mapped[str] = mapped_column(String(500))


class RecordDraft(db.Model):
    """A partly filled record, private to the person who saved it; not yet a record."""

    id: Mapped[int] = mapped_column(primary_key=True)
    form_code: Mapped[str] = mapped_column(String(40), index=True)
    values: Mapped[dict] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordLink(db.Model):
    """What a record concerns or is cited by: a nonconformity, an audit …"""

    __table_args__ = (UniqueConstraint("record_id", "target_type", "target_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    target_type: Mapped[str] = mapped_column(String(20), index=True)
    target_key: Mapped[str] = mapped_column(String(80), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship(lazy="joined")


class Attachment(db.Model):
    """A file attached to a record; the bytes live in :mod:`qms.attachments` by sha256."""

    __tablename__ = "record_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Marked so that backups and ``qms check`` find the files records name.
    sha256: Mapped[str] = mapped_column(String(64), index=True, info={"attachment": True})
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(120))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

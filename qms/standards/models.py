"""The standard system's categories and external standards; service items and windows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department
from qms.documents.models import Document
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

STANDARD_STATUSES = ("in_force", "replaced", "withdrawn")


class StandardCategory(db.Model):
    """A category of the standard system (体系表), in one scheme, with its code.

    A scheme is one way of dividing the system, e.g. base / quality / management / work;
    categories nest by ``parent_id``.
    """

    __table_args__ = (UniqueConstraint("scheme", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("standard_category.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ExternalStandard(db.Model):
    """A standard of external origin (GB/T 39734-2020 …): number, edition, status, successor.

    ``document_id`` is its controlled copy in the register, when it has one.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    edition: Mapped[str] = mapped_column(String(40), default="")
    issuing_body: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="in_force", index=True)
    effective_on: Mapped[date | None] = mapped_column(Date)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("external_standard.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("standard_category.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[StandardCategory | None] = relationship(lazy="joined")
    replaced_by: Mapped[ExternalStandard | None] = relationship(remote_side=[id])

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class DocumentCategory(db.Model):
    """Where a document of the register sits in a scheme of the standard system."""

    __table_args__ = (UniqueConstraint("document_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("standard_category.id", ondelete="CASCADE"), index=True
    )

    document: Mapped[Document] = relationship(lazy="joined")
    category: Mapped[StandardCategory] = relationship(lazy="joined")


class StandardCitation(db.Model):
    """A document of the register that cites an external standard."""

    __table_args__ = (UniqueConstraint("standard_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(
        ForeignKey("external_standard.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)

    document: Mapped[Document] = relationship(lazy="joined")


service_item_window = Table(
    "service_item_window",
    db.metadata,
    Column("item_id", ForeignKey("service_item.id", ondelete="CASCADE"), primary_key=True),
    Column("window_id", ForeignKey("service_window.id", ondelete="CASCADE"), primary_key=True),
)


class ServiceWindow(db.Model):
    """A counter (窗口) of the service hall, staffed by one department."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ServiceItem(db.Model):
    """A service item (事项) the centre provides, with its legal basis and time limits."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    # Working days: what the centre promises, and what the law allows.
    promised_days: Mapped[int | None] = mapped_column(Integer)
    statutory_days: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
    windows: Mapped[list[ServiceWindow]] = relationship(
        secondary=service_item_window, lazy="selectin", order_by=ServiceWindow.code
    )
    document_rows: Mapped[list[ServiceItemDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    standard_rows: Mapped[list[ServiceItemStandard]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ServiceItemDocument(db.Model):
    """A document of the register (procedure, work specification…) that governs an item."""

    __table_args__ = (UniqueConstraint("item_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("service_item.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)

    document: Mapped[Document] = relationship(lazy="joined")


class ServiceItemStandard(db.Model):
    """An external standard that governs an item."""

    __table_args__ = (UniqueConstraint("item_id", "standard_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("service_item.id", ondelete="CASCADE"), index=True
    )
    standard_id: Mapped[int] = mapped_column(
        ForeignKey("external_standard.id", ondelete="CASCADE"), index=True
    )

    standard: Mapped[ExternalStandard] = relationship(lazy="joined")

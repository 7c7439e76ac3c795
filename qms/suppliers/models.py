"""The register of external providers, their evaluation criteria and evaluations (§8.4).

Documents and nonconformities belong to other domains: a provider names its governing
documents by code, and an NC names its provider by a column on the NC.
"""

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

STATUSES = ("approved", "conditional", "suspended")
#: The state table: which status a provider may move to from each. A suspended provider
#: comes back only on condition; it earns "approved" again by a good evaluation.
TRANSITIONS = {
    "approved": ("conditional", "suspended"),
    "conditional": ("approved", "suspended"),
    "suspended": ("conditional",),
}
#: The statuses a new provider may start in: nobody registers one suspended.
INITIAL_STATUSES = ("approved", "conditional")


class SupplierCriterion(db.Model):
    """One thing a provider is evaluated on, with its weight in the total."""

    __tablename__ = "supplier_criterion"
    __table_args__ = (UniqueConstraint("supplier_id", "name", name="uq_supplier_criterion_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class SupplierDocument(db.Model):
    """A document governing a provider (a contract, a specification), by code."""

    __tablename__ = "supplier_document"
    __table_args__ = (UniqueConstraint("supplier_id", "code", name="uq_supplier_document_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40), index=True)


class SupplierScore(db.Model):
    """The score given on one criterion; the criterion's name and weight are copied, so an
    evaluation reads the same after the criteria change."""

    __tablename__ = "supplier_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("supplier_evaluation.id", ondelete="CASCADE"), index=True
    )
    criterion: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)


class SupplierEvaluation(db.Model):
    """A periodic evaluation: a score per criterion and their weighted total (0–100)."""

    __tablename__ = "supplier_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    evaluated_on: Mapped[date] = mapped_column(Date, index=True)
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    evaluated_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evaluated_by: Mapped[User] = relationship(lazy="joined")
    scores: Mapped[list[SupplierScore]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=SupplierScore.id
    )


class SupplierStatusChange(db.Model):
    """One change of a provider's approval status, with who decided it and why."""

    __tablename__ = "supplier_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("supplier.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    changed_by: Mapped[User] = relationship(lazy="joined")


class SupplierReminder(db.Model):
    """A re-evaluation reminder sent: one per provider and due date, so none goes twice."""

    __tablename__ = "supplier_reminder"
    __table_args__ = (UniqueConstraint("supplier_id", "due_date", name="uq_supplier_reminder_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Supplier(db.Model):
    """An external provider of products or services, and how it is controlled (§8.4)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    supplies: Mapped[str] = mapped_column(Text)
    controls: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="conditional", index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    evaluation_months: Mapped[int] = mapped_column(Integer, default=12)
    next_evaluation_due: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(lazy="joined")
    criteria: Mapped[list[SupplierCriterion]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by=(SupplierCriterion.position, SupplierCriterion.id),
    )
    document_rows: Mapped[list[SupplierDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=SupplierDocument.code
    )
    evaluations: Mapped[list[SupplierEvaluation]] = relationship(
        cascade="all, delete-orphan",
        order_by=(SupplierEvaluation.evaluated_on.desc(), SupplierEvaluation.id.desc()),
    )
    status_changes: Mapped[list[SupplierStatusChange]] = relationship(
        cascade="all, delete-orphan",
        order_by=(SupplierStatusChange.changed_at.desc(), SupplierStatusChange.id.desc()),
    )

    @property
    def documents(self) -> list[str]:
        return [row.code for row in self.document_rows]

    @property
    def latest_evaluation(self) -> SupplierEvaluation | None:
        return self.evaluations[0] if self.evaluations else None

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

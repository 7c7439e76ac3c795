"""Positions and what they require, training records, and the revision property.

Which documents and competences a person needs follows from the positions they hold;
whether a document's training is done follows from the records on the revision that
last needed training (see :mod:`qms.training.matrix`).
"""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.documents.models import Document, Revision
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

METHODS = ("classroom", "on_the_job", "self_study", "e_learning", "external_course")
RESULTS = ("passed", "failed")


class Competence(db.Model):
    """A skill or qualification a position needs; a qualification may expire."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # A certificate valid two years has 24; None never expires.
    validity_months: Mapped[int | None] = mapped_column(Integer)
    # Whether a training in it is evaluated for effectiveness afterwards (ISO 9001 §7.2 c).
    evaluate_effectiveness: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


class PositionDocument(db.Model):
    __table_args__ = (UniqueConstraint("position_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)

    document: Mapped[Document] = relationship(lazy="joined")


class PositionCompetence(db.Model):
    __table_args__ = (UniqueConstraint("position_id", "competence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"))
    competence_id: Mapped[int] = mapped_column(ForeignKey("competence.id"), index=True)

    competence: Mapped[Competence] = relationship(lazy="joined")


class PositionHolder(db.Model):
    __table_args__ = (UniqueConstraint("position_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # Initial training falls due a set time after taking up the position.
    since: Mapped[date] = mapped_column(Date)

    user: Mapped[User] = relationship(lazy="joined")


class Position(db.Model):
    """A position or role in a department, with the documents and competences it needs."""

    __table_args__ = (UniqueConstraint("department_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    document_rows: Mapped[list[PositionDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    competence_rows: Mapped[list[PositionCompetence]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    holders: Mapped[list[PositionHolder]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def documents(self) -> list[Document]:
        return [row.document for row in self.document_rows]

    @property
    def competences(self) -> list[Competence]:
        return [row.competence for row in self.competence_rows]

    def __str__(self) -> str:
        return self.name


class RevisionTraining(db.Model):
    """The approver's mark that a revision needs training, not acknowledgement alone."""

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), unique=True)
    needs_training: Mapped[bool] = mapped_column(Boolean, default=True)
    # Days after the effective date by which the people concerned must be trained.
    due_days: Mapped[int] = mapped_column(Integer, default=30)
    evaluate_effectiveness: Mapped[bool] = mapped_column(Boolean, default=False)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    revision: Mapped[Revision] = relationship(lazy="joined")


class TrainingRecord(db.Model):
    """One person trained on a document revision or in a competence, with the evidence."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"), index=True)
    competence_id: Mapped[int | None] = mapped_column(ForeignKey("competence.id"), index=True)
    trained_on: Mapped[date] = mapped_column(Date, index=True)
    trainer: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(20))
    result: Mapped[str] = mapped_column(String(10))
    valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), info={"attachment": True})
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The session several people attended together, recorded at once (TS-2026-0001).
    session_number: Mapped[str | None] = mapped_column(String(20), index=True)
    # The effectiveness evaluation: None until evaluated; a training found not effective
    # no longer counts, so the requirement falls due again.
    effective: Mapped[bool | None] = mapped_column(Boolean)
    evaluation: Mapped[str | None] = mapped_column(Text)
    evaluated_on: Mapped[date | None] = mapped_column(Date)
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    evaluated_by: Mapped[User | None] = relationship(foreign_keys=[evaluated_by_id])
    document: Mapped[Document | None] = relationship(lazy="joined")
    revision: Mapped[Revision | None] = relationship(lazy="joined")
    competence: Mapped[Competence | None] = relationship(lazy="joined")


class TrainingReminder(db.Model):
    """A reminder sent: one per person, item and due date, so none goes twice."""

    __table_args__ = (UniqueConstraint("user_id", "item", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    item: Mapped[str] = mapped_column(String(80))
    due_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

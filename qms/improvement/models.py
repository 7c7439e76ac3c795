"""Nonconformities, their evidence and documents, actions, and the reminders sent about them.

Documents and records belong to other domains: they are referred to here by code or
number (with the revision in force pinned), never by a foreign key into their tables.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

SOURCES = (
    "internal_audit",
    "external_audit",
    "customer_complaint",
    "process_monitoring",
    "staff_report",
    "management_review",
    "supplier",
)
SEVERITIES = ("major", "minor")
# reported -> containment -> analysis -> action_plan -> implementation -> effectiveness_check
# -> closed; rejected (unfounded) from the first three; effectiveness_check -> analysis when
# the check finds the actions not effective (a reopening).
NC_STATES = (
    "reported",
    "containment",
    "analysis",
    "action_plan",
    "implementation",
    "effectiveness_check",
    "closed",
    "rejected",
)
OPEN_NC_STATES = NC_STATES[:6]
CAUSE_CATEGORIES = ("people", "method", "equipment", "material", "environment", "measurement")
EVIDENCE_KINDS = ("record", "link", "attachment")

ACTION_TYPES = ("correction", "corrective", "preventive", "improvement")
ACTION_STATES = ("planned", "in_progress", "done", "verified_effective", "not_effective")
OPEN_ACTION_STATES = ("planned", "in_progress", "not_effective")
# Where an action without a nonconformity comes from.
ACTION_ORIGINS = ("nonconformity", "risk", "trend", "management_review", "suggestion", "audit")


class Nonconformity(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(30), index=True)
    clause: Mapped[str | None] = mapped_column(String(20), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="minor", index=True)
    state: Mapped[str] = mapped_column(String(30), default="reported", index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    # The external provider the NC is about (§8.4); the suppliers domain owns the table.
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("supplier.id", ondelete="SET NULL"), index=True
    )

    # Containment / correction: what was done at once, by whom, when.
    containment: Mapped[str | None] = mapped_column(Text)
    containment_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    containment_on: Mapped[date | None] = mapped_column(Date)

    # Root cause: the 5-whys chain, a category and free text.
    whys: Mapped[list | None] = mapped_column(JSON)
    cause_category: Mapped[str | None] = mapped_column(String(20))
    root_cause: Mapped[str | None] = mapped_column(Text)
    analysis_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    analysis_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    plan_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    check_result: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    # Lists and pages show who raised it and who is responsible: load them with it.
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id], lazy="joined")
    containment_by: Mapped[User | None] = relationship(foreign_keys=[containment_by_id])
    analysis_accepted_by: Mapped[User | None] = relationship(foreign_keys=[analysis_accepted_by_id])
    plan_accepted_by: Mapped[User | None] = relationship(foreign_keys=[plan_accepted_by_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])
    documents: Mapped[list["NcDocument"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="NcDocument.code"
    )
    evidence: Mapped[list["Evidence"]] = relationship(
        cascade="all, delete-orphan", order_by="Evidence.id"
    )
    actions: Mapped[list["Action"]] = relationship(
        back_populates="nonconformity", order_by="Action.id"
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_NC_STATES

    @property
    def document_codes(self) -> list[str]:
        return [d.code for d in self.documents]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class NcDocument(db.Model):
    """A document concerned, pinned to the revision in force when it was named."""

    __table_args__ = (UniqueConstraint("nonconformity_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int] = mapped_column(
        ForeignKey("nonconformity.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40), index=True)
    revision: Mapped[str | None] = mapped_column(String(10))


class Evidence(db.Model):
    """A link to a filled record, a web link, or an uploaded file supporting the finding."""

    __tablename__ = "nc_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int] = mapped_column(
        ForeignKey("nonconformity.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    record_number: Mapped[str | None] = mapped_column(String(40), index=True)
    url: Mapped[str | None] = mapped_column(String(500))
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    # The file's name in the attachment store (qms.attachments), which backups and checks find.
    sha256: Mapped[str | None] = mapped_column(String(64), info={"attachment": True})
    note: Mapped[str | None] = mapped_column(String(300))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    added_by: Mapped[User] = relationship(lazy="joined")


class Action(db.Model):
    """A correction, corrective, preventive or improvement action, with or without an NC."""

    __tablename__ = "improvement_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    action_type: Mapped[str] = mapped_column(String(20), index=True)
    origin: Mapped[str] = mapped_column(String(30), default="nonconformity", index=True)
    origin_ref: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    effectiveness_criteria: Mapped[str | None] = mapped_column(Text)
    check_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    done_note: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_result: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The document change this action needs, and the release that implemented it.
    change_request: Mapped[str | None] = mapped_column(String(20), index=True)
    released_document: Mapped[str | None] = mapped_column(String(40))
    released_revision: Mapped[str | None] = mapped_column(String(10))
    released_commit: Mapped[str | None] = mapped_column(String(40))
    released_on: Mapped[date | None] = mapped_column(Date)

    nonconformity: Mapped[Nonconformity | None] = relationship(
        back_populates="actions", lazy="joined"
    )
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ACTION_STATES

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Reminder(db.Model):
    """A reminder e-mail that was sent, so that the daily run never sends it twice."""

    __tablename__ = "improvement_reminder"
    __table_args__ = (UniqueConstraint("object_type", "object_key", "kind", "due_date", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # before_due | overdue
    due_date: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# What was done with a nonconforming output (ISO 9001 §8.7).
DISPOSITIONS = ("corrected_reissued", "replaced", "recalled", "concession")


class NcOutput(db.Model):
    """The output an NC is about (a certificate, a licence, a decision) and its disposition."""

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int] = mapped_column(
        ForeignKey("nonconformity.id", ondelete="CASCADE"), unique=True
    )
    output: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str | None] = mapped_column(String(30), index=True)
    disposition_note: Mapped[str | None] = mapped_column(Text)
    # Who accepted the output under concession; never the person who raised the NC.
    authorised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    evidence_ref: Mapped[str | None] = mapped_column(String(300))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), info={"attachment": True})
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    disposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    disposed_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    nonconformity: Mapped[Nonconformity] = relationship(
        backref=backref("output", uselist=False, lazy="selectin")
    )
    authorised_by: Mapped[User | None] = relationship(foreign_keys=[authorised_by_id])
    disposed_by: Mapped[User | None] = relationship(foreign_keys=[disposed_by_id])

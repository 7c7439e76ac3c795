"""Audit programmes, audit plans, their checklist questions, findings and attachments.

Nonconformities, actions and records belong to other domains: they are stored here by
their numbers (``NC-2026-0004``) and resolved through those domains' services.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.clauses import in_order
from qms.documents.models import Document
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

AUDIT_TYPES = ("internal", "external", "supplier")
# planned -> in_progress -> reported -> closed
AUDIT_STATES = ("planned", "in_progress", "reported", "closed")
RESULTS = ("conforming", "major_nc", "minor_nc", "observation", "ofi", "not_audited")
NC_RESULTS = ("major_nc", "minor_nc")
RISK_LEVELS = ("low", "medium", "high")
UNIT_KINDS = ("department", "process")
QUESTION_SOURCES = ("checklist", "procedure", "auditor")
MEMBER_ROLES = ("lead", "auditor", "auditee")


class AuditProgramme(db.Model):
    """The audit programme of one year: why, what, against what, and how often."""

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    objectives: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list["ProgrammeUnit"]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="(ProgrammeUnit.kind, ProgrammeUnit.name)",
    )


class ProgrammeUnit(db.Model):
    """A department or process in the programme, with its risk and planned frequency."""

    __table_args__ = (UniqueConstraint("programme_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("audit_programme.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # department | process
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    risk: Mapped[str] = mapped_column(String(10), default="medium")
    # Audits per year the programme commits to.
    frequency: Mapped[int] = mapped_column(Integer, default=1)
    # The clauses this unit is expected to be audited against; empty means all of 4-10.
    clauses: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department | None] = relationship(lazy="joined")


class Audit(db.Model):
    """An audit plan and, once worked, its findings and signed report."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    audit_type: Mapped[str] = mapped_column(String(20), default="internal", index=True)
    state: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    objectives: Mapped[str] = mapped_column(Text, default="")
    # Processes in scope, by the names the programme uses.
    processes: Mapped[list] = mapped_column(JSON, default=list)
    lead_auditor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    planned_start: Mapped[date] = mapped_column(Date, index=True)
    planned_end: Mapped[date] = mapped_column(Date)
    opening_meeting: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_meeting: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    strengths: Mapped[str] = mapped_column(Text, default="")
    distribution: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The signed report: the exact Markdown signed, its sha256 and language.
    report_body: Mapped[str | None] = mapped_column(Text)
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    report_lang: Mapped[str | None] = mapped_column(String(10))
    report_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    report_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead_auditor: Mapped[User] = relationship(foreign_keys=[lead_auditor_id], lazy="joined")
    report_signed_by: Mapped[User | None] = relationship(foreign_keys=[report_signed_by_id])
    members: Mapped[list["AuditMember"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="AuditMember.id"
    )
    department_rows: Mapped[list["AuditDepartment"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    clause_rows: Mapped[list["AuditClause"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="AuditClause.clause"
    )
    document_rows: Mapped[list["AuditDocument"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="AuditDocument.id"
    )
    questions: Mapped[list["AuditQuestion"]] = relationship(
        cascade="all, delete-orphan", order_by="AuditQuestion.seq", back_populates="audit"
    )

    @property
    def departments(self) -> list[Department]:
        return [row.department for row in self.department_rows]

    @property
    def clauses(self) -> list[str]:
        return in_order(row.clause for row in self.clause_rows)

    def people(self, role: str) -> list[User]:
        return [m.user for m in self.members if m.role == role]

    @property
    def team(self) -> list[User]:
        """The auditors besides the lead."""
        return self.people("auditor")

    @property
    def auditees(self) -> list[User]:
        return self.people("auditee")


class AuditMember(db.Model):
    __table_args__ = (UniqueConstraint("audit_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # lead | auditor | auditee

    user: Mapped[User] = relationship(lazy="joined")


class AuditDepartment(db.Model):
    __table_args__ = (UniqueConstraint("audit_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)

    department: Mapped[Department] = relationship(lazy="joined")


class AuditClause(db.Model):
    __table_args__ = (UniqueConstraint("audit_id", "clause"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    clause: Mapped[str] = mapped_column(String(20), index=True)


class AuditDocument(db.Model):
    """A controlled document that is a criterion, pinned to the revision in force."""

    __table_args__ = (UniqueConstraint("audit_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    revision: Mapped[str | None] = mapped_column(String(10))
    commit: Mapped[str | None] = mapped_column(String(40))

    document: Mapped[Document] = relationship(lazy="joined")


class AuditQuestion(db.Model):
    """One line of the checklist, and the finding recorded against it."""

    __table_args__ = (UniqueConstraint("audit_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # checklist | procedure | auditor
    # The checklist question id ("8.5-1") or the procedure and step ("QP-07 5.3.2").
    source_ref: Mapped[str | None] = mapped_column(String(80))
    clause: Mapped[str | None] = mapped_column(String(20), index=True)
    document_code: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    evidence_hint: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(20), index=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    # Record numbers cited as evidence (resolved through the records domain).
    records: Mapped[list] = mapped_column(JSON, default=list)
    nc_number: Mapped[str | None] = mapped_column(String(40), index=True)
    action_ref: Mapped[str | None] = mapped_column(String(40))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    audit: Mapped[Audit] = relationship(back_populates="questions")
    answered_by: Mapped[User | None] = relationship(lazy="joined")
    attachments: Mapped[list["AuditAttachment"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="AuditAttachment.id"
    )


class AuditAttachment(db.Model):
    """A photo or file taken as evidence; its bytes are in the attachment store, by sha256."""

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("audit_question.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    # The file in qms.attachments; the mark lets backups and `qms check` find it.
    sha256: Mapped[str] = mapped_column(String(64), info={"attachment": True})
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

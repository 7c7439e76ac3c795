"""The document register and the workflow state of each revision.

Git holds the content and the release history; these tables index it and carry the
workflow state (who is reviewing, who signed, who has read it).
"""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.clauses import in_order
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

DOC_TYPES = ("manual", "procedure", "work_instruction", "record_form", "external")
# Folders in the repository, so that a plain checkout reads like the binder it replaces.
TYPE_FOLDERS = {
    "manual": "manual",
    "procedure": "procedures",
    "work_instruction": "work-instructions",
    "record_form": "record-forms",
    "external": "external",
}
# Which type may sit under which: manual -> procedure -> work instruction -> record form.
PARENT_TYPES = {
    "manual": (),
    "procedure": ("manual",),
    "work_instruction": ("procedure",),
    "record_form": ("procedure", "work_instruction"),
    "external": ("manual", "procedure"),
}
DOC_STATUSES = ("draft", "in_review", "effective", "obsolete")
# Revision states: draft -> in_review -> approved -> (scheduled) -> effective -> superseded;
# in_review -> draft on rejection; effective -> obsolete when the document is withdrawn.
REV_STATUSES = (
    "draft",
    "in_review",
    "approved",
    "scheduled",
    "effective",
    "superseded",
    "obsolete",
)
SIGNATURE_MEANINGS = ("authored", "reviewed", "approved", "verified", "periodic_review", "imported")


class DocumentClause(db.Model):
    __table_args__ = (UniqueConstraint("document_id", "clause"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    clause: Mapped[str] = mapped_column(String(20), index=True)


class Distribution(db.Model):
    """A department concerned by a document, whose staff must read each new revision."""

    __table_args__ = (UniqueConstraint("document_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))

    department: Mapped[Department] = relationship(lazy="joined")


class Document(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_type: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    current_revision: Mapped[str | None] = mapped_column(String(10))
    effective_date: Mapped[date | None] = mapped_column(Date)
    review_interval_months: Mapped[int] = mapped_column(Integer, default=12)
    next_review_due: Mapped[date | None] = mapped_column(Date, index=True)
    distribute_to_all: Mapped[bool] = mapped_column(default=False)
    obsolete_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Document | None"] = relationship(remote_side=[id], lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    clause_rows: Mapped[list[DocumentClause]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=DocumentClause.clause
    )
    distribution: Mapped[list[Distribution]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    revisions: Mapped[list["Revision"]] = relationship(
        back_populates="document", order_by="Revision.id", cascade="all, delete-orphan"
    )

    @property
    def clauses(self) -> list[str]:
        return in_order(c.clause for c in self.clause_rows)

    @property
    def path(self) -> str:
        """Where the document's Markdown file lives in the repository."""
        return f"{TYPE_FOLDERS[self.doc_type]}/{self.code}.md"

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class ChangeRequestDocument(db.Model):
    __table_args__ = (UniqueConstraint("change_request_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_request.id", ondelete="CASCADE")
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))

    document: Mapped[Document] = relationship(lazy="joined")


class ChangeRequest(db.Model):
    """A request to change documents, raised by anyone and decided by an approver."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    # The nonconformity or action behind the request (e.g. NC-2026-0004), when there is one.
    source_ref: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    document_rows: Mapped[list[ChangeRequestDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def documents(self) -> list[Document]:
        return [row.document for row in self.document_rows]


class Revision(db.Model):
    __table_args__ = (UniqueConstraint("document_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    label: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    # Draft branch head; the stale-edit check compares against it.
    head_commit: Mapped[str | None] = mapped_column(String(40))
    # The exact content submitted, reviewed and signed.
    blob_id: Mapped[str | None] = mapped_column(String(40))
    release_commit: Mapped[str | None] = mapped_column(String(40))
    effective_date: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    document: Mapped[Document] = relationship(back_populates="revisions", lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    change_request: Mapped[ChangeRequest | None] = relationship(lazy="joined")
    signatures: Mapped[list["Signature"]] = relationship(
        lazy="selectin", order_by="Signature.signed_at", cascade="all, delete-orphan"
    )
    comments: Mapped[list["ReviewComment"]] = relationship(
        order_by="ReviewComment.created_at", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in ("draft", "in_review", "approved")


class Signature(db.Model):
    """An electronic signature over the exact content (git blob) of a revision."""

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    meaning: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blob_id: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    # The step of the document type's approval route this signature is (1, 2 …), if any.
    step: Mapped[int | None] = mapped_column(Integer)
    # Signed by a delegate: for whom, and under which delegation.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegation.id"))

    user: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])
    on_behalf_of: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[on_behalf_of_id])


class ReviewComment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="comment")  # comment | rejection
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Acknowledgement(db.Model):
    """A member of staff confirming they have read an effective revision."""

    __table_args__ = (UniqueConstraint("revision_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalRoute(db.Model):
    """The ordered signatures a document type's revisions need before release."""

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(20), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list["ApprovalStep"]] = relationship(
        lazy="selectin", order_by="ApprovalStep.position", cascade="all, delete-orphan"
    )


class ApprovalStep(db.Model):
    """One signature of a route: its meaning, and the role or the named person who signs."""

    __table_args__ = (UniqueConstraint("route_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("approval_route.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    meaning: Mapped[str] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User | None] = relationship(lazy="joined")


class Delegation(db.Model):
    """A signer away for a period: ``delegate`` signs what ``delegator`` may sign."""

    id: Mapped[int] = mapped_column(primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delegator: Mapped[User] = relationship(lazy="joined", foreign_keys=[delegator_id])
    delegate: Mapped[User] = relationship(lazy="joined", foreign_keys=[delegate_id])

"""Registers of context issues, interested parties, and legal and other requirements."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

ISSUE_KINDS = ("internal", "external")
LEGAL_STATUSES = ("applicable", "under_review", "not_applicable", "withdrawn")


class ContextIssue(db.Model):
    """An internal or external issue relevant to the QMS's purpose (§4.1)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    review_date: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    owner: Mapped[User] = relationship(lazy="joined")


class InterestedParty(db.Model):
    """A party whose needs and expectations bear on the QMS (§4.2)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    needs: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    review_date: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    owner: Mapped[User] = relationship(lazy="joined")


class LegalRequirementDocument(db.Model):
    """A document that implements a requirement, by code (documents are another domain's)."""

    __table_args__ = (UniqueConstraint("requirement_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("legal_requirement.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(40), index=True)


class LegalRequirement(db.Model):
    """A law, regulation or standard clause the organisation must meet, and how it does."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    law: Mapped[str] = mapped_column(String(300))
    article: Mapped[str] = mapped_column(String(100), default="")
    requirement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="applicable", index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    review_date: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When the law, article or requirement itself last changed (not its review date).
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    owner: Mapped[User] = relationship(lazy="joined")
    document_rows: Mapped[list[LegalRequirementDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=LegalRequirementDocument.code
    )

    @property
    def documents(self) -> list[str]:
        return [row.code for row in self.document_rows]

"""The register of risks and opportunities, the scales and matrix it is scored on, and
the history of each entry's level (from which the trend of high risks is drawn)."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

KINDS = ("risk", "opportunity")
LEVELS = ("low", "medium", "high")
# open -> treated | accepted -> closed; treated, accepted and closed may be reopened.
STATUSES = ("open", "treated", "accepted", "closed")
TRANSITIONS = {
    "open": ("treated", "accepted", "closed"),
    "treated": ("closed", "open"),
    "accepted": ("closed", "open"),
    "closed": ("open",),
}
SCALE_SIZES = (3, 4, 5)


class RiskSettings(db.Model):
    """The scales and the level matrix of the register: one row, kept by an administrator.

    ``matrix[l - 1][i - 1]`` is the level of likelihood ``l`` and impact ``i``. A name left
    empty shows the default name of that step in the reader's language.
    """

    __tablename__ = "risk_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    scale: Mapped[int] = mapped_column(Integer, default=5)
    likelihood_names: Mapped[list] = mapped_column(JSON, default=list)
    impact_names: Mapped[list] = mapped_column(JSON, default=list)
    matrix: Mapped[list] = mapped_column(JSON, default=list)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Risk(db.Model):
    """A risk or an opportunity of a process or department, scored before and after treatment."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(300))
    cause: Mapped[str] = mapped_column(Text, default="")
    effect: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # The process by the name the audit programme uses.
    process: Mapped[str] = mapped_column(String(120), default="", index=True)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(10), index=True)
    treatment: Mapped[str] = mapped_column(Text, default="")
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    residual_score: Mapped[int | None] = mapped_column(Integer)
    residual_level: Mapped[str | None] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    status_note: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    review_date: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The register lists owner and department on every row: load them with it.
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    audit_rows: Mapped[list["RiskAudit"]] = relationship(
        cascade="all, delete-orphan", order_by="RiskAudit.audit_ref"
    )

    @property
    def is_assessed_after_treatment(self) -> bool:
        return self.residual_score is not None

    @property
    def current_level(self) -> str:
        """The level that counts now: after treatment where it has been assessed."""
        return self.residual_level or self.level

    @property
    def current_likelihood(self) -> int:
        return self.residual_likelihood or self.likelihood

    @property
    def current_impact(self) -> int:
        return self.residual_impact or self.impact

    @property
    def audits(self) -> list[str]:
        return [row.audit_ref for row in self.audit_rows]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class RiskLevelChange(db.Model):
    """The level an entry counted at from ``at`` on; ``level`` is empty once it is closed."""

    __tablename__ = "risk_level_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    level: Mapped[str] = mapped_column(String(10), default="")


class RiskAudit(db.Model):
    """A risk an audit takes as a criterion (the audit is the audits domain's, by its ref)."""

    __tablename__ = "risk_audit"
    __table_args__ = (UniqueConstraint("risk_id", "audit_ref", name="uq_risk_audit_risk_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    audit_ref: Mapped[str] = mapped_column(String(20), index=True)

"""Quality objectives and their measurements, customer feedback and management reviews.

Nonconformities, actions, audits and records belong to other domains: a review refers to
them by their numbers (``NC-2026-0004``, ``ACT-2026-0012``) and reads them through those
domains' services, never through a foreign key into their tables.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

DIRECTIONS = ("higher", "lower")
FREQUENCIES = ("monthly", "quarterly", "yearly")
# Where an objective's measurements come from: typed (browser, CSV, API), computed from the
# satisfaction surveys, or computed from a figure the system already knows.
OBJECTIVE_SOURCES = (
    "manual",
    "surveys",
    "overdue_actions",
    "nc_closure_days",
    "audit_completion",
    "ack_coverage",
    "forms_used",
    "training_coverage",
    "output_ncs",
    "output_rate",
    "record_query",
    # citizens' ratings (qms.ratings.figures)
    "ratings_good_rate",
    "ratings_poor",
    "rectification_on_time",
    "followup_satisfaction",
)
MEASUREMENT_ORIGINS = ("browser", "csv", "api", "surveys", "computed")
CHANNELS = ("window", "phone", "hotline", "online", "email", "letter", "visit")
DECISION_KINDS = ("improvement", "qms_change", "resources")
# planned -> prepared (inputs compiled, may be compiled again) -> held (inputs frozen,
# outputs recorded) -> approved (minutes signed by the chair; nothing changes any more)
REVIEW_STATES = ("planned", "prepared", "held", "approved")


class Objective(db.Model):
    """A measurable quality objective with its target."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    unit: Mapped[str] = mapped_column(String(20), default="%")
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(10), default="higher")
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")
    source: Mapped[str] = mapped_column(String(30), default="manual")
    # For "output_rate": the record form whose records are the outputs issued (certificates).
    source_form: Mapped[str | None] = mapped_column(String(40))
    # For "record_query": the query over a record form (qms.reviews.record_query).
    source_query: Mapped[dict | None] = mapped_column(JSON)
    method: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    measurements: Mapped[list["Measurement"]] = relationship(
        back_populates="objective", order_by="Measurement.period", cascade="all, delete-orphan"
    )

    def meets(self, value: float | None) -> bool | None:
        """Return whether ``value`` meets the target (None when there is no value)."""
        if value is None:
            return None
        return value >= self.target if self.direction == "higher" else value <= self.target

    def __str__(self) -> str:
        return self.name


class Measurement(db.Model):
    """An objective's value for one period (``2026-10``, ``2026-Q3`` or ``2026``)."""

    __tablename__ = "objective_measurement"
    __table_args__ = (UniqueConstraint("objective_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("objective.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(10), index=True)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20), default="browser")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A value computed by a record query carries its records:
    # {"matched": [numbers], "base": [numbers]}.
    records: Mapped[dict | None] = mapped_column(JSON)

    objective: Mapped[Objective] = relationship(back_populates="measurements")
    entered_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def meets_target(self) -> bool | None:
        return self.objective.meets(self.value)


class Complaint(db.Model):
    """A customer complaint, its response and whether the customer was satisfied with it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    person: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    response_due: Mapped[date] = mapped_column(Date, index=True)
    response: Mapped[str | None] = mapped_column(Text)
    responded_on: Mapped[date | None] = mapped_column(Date)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # None until the customer has said; True/False afterwards.
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    nc_number: Mapped[str | None] = mapped_column(String(20), index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])

    @property
    def is_open(self) -> bool:
        return self.response is None


class SurveyResult(db.Model):
    """The satisfaction survey result of one service in one period."""

    __table_args__ = (UniqueConstraint("period", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10), index=True)
    service: Mapped[str] = mapped_column(String(200))
    responses: Mapped[int] = mapped_column(Integer)
    # Share of satisfied respondents, in percent.
    score: Mapped[float] = mapped_column(Float)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(db.Model):
    """A management review meeting: its frozen inputs, its decisions and its signed minutes."""

    __tablename__ = "management_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    planned_on: Mapped[date] = mapped_column(Date, index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    chair_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    # What people enter for the §9.3.2 inputs the system cannot know, by input key.
    notes: Mapped[dict] = mapped_column(JSON, default=dict)
    # The compiled inputs: figures and texts as they stood, frozen when the review is held.
    inputs: Mapped[dict | None] = mapped_column(JSON)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_on: Mapped[date | None] = mapped_column(Date)
    discussion: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The approved minutes: the exact Markdown signed, its sha256 and language.
    minutes: Mapped[str | None] = mapped_column(Text)
    minutes_sha256: Mapped[str | None] = mapped_column(String(64))
    minutes_lang: Mapped[str | None] = mapped_column(String(10))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chair: Mapped[User] = relationship(foreign_keys=[chair_id], lazy="joined")
    attendee_rows: Mapped[list["ReviewAttendee"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ReviewAttendee.id"
    )
    decisions: Mapped[list["Decision"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="Decision.id"
    )

    @property
    def attendees(self) -> list[User]:
        return [row.user for row in self.attendee_rows]

    @property
    def frozen(self) -> bool:
        return self.state in ("held", "approved")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ReviewAttendee(db.Model):
    __table_args__ = (UniqueConstraint("review_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("management_review.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    user: Mapped[User] = relationship(lazy="joined")


class Decision(db.Model):
    """An output of the review (§9.3.3) and the actions raised to carry it out."""

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("management_review.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    # Action numbers (ACT-2026-0012) created through the improvement domain.
    actions: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewTopic(db.Model):
    """Something a review discussed (an NC, action, audit, revision), for the trail page."""

    __table_args__ = (UniqueConstraint("review_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("management_review.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(60), index=True)

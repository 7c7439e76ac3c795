"""Ratings of cases by citizens (GB/T 39734 / 39735) and the rectification of poor ones.

A rating is evidence as the service platform sent it: it is never edited in place. A poor
rating (level 1 or 2) opens one rectification (整改), which runs
open -> rectified -> followed_up -> closed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow
from qms.standards.models import ServiceItem, ServiceWindow

#: The five levels of the national scheme, best first: 非常满意 5 … 非常不满意 1.
LEVELS = (5, 4, 3, 2, 1)
GOOD_LEVELS = (5, 4)
POOR_LEVELS = (2, 1)
CHANNELS = ("device", "online", "mobile", "sms", "phone", "other")
#: The indicators GB/T 39734 names, each an optional score 1–5.
INDICATORS = ("attitude", "efficiency", "quality", "convenience", "fairness")
ORIGINS = ("import", "api")

RECTIFICATION_STATES = ("open", "rectified", "followed_up", "closed")
OPEN_STATES = ("open", "rectified", "followed_up")
FOLLOWUP_WAYS = ("phone", "visit", "sms", "online")
FOLLOWUP_RESULTS = ("satisfied", "basically_satisfied", "not_satisfied")
CONTENT_RESULTS = ("satisfied", "basically_satisfied")
#: Which state may follow which, and who moves it: the responsible department (or the
#: quality office) investigates and puts it right; the quality office follows up with the
#: citizen and closes. A citizen still not satisfied sends it back to be put right again.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "rectified"): "department",
    ("rectified", "followed_up"): "office",
    ("followed_up", "closed"): "office",
    ("followed_up", "open"): "office",
}


class Rating(db.Model):
    """One citizen's rating of one case, as received; never changed once stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(60), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("service_window.id"), index=True)
    # The window's department when the rating came in: figures stay as they were.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer, index=True)
    attitude: Mapped[int | None] = mapped_column(Integer)
    efficiency: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    convenience: Mapped[int | None] = mapped_column(Integer)
    fairness: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    origin: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))

    # Lists show item, window and department on every row: load them with the rating.
    item: Mapped[ServiceItem] = relationship(lazy="joined")
    window: Mapped[ServiceWindow] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    staff: Mapped[User | None] = relationship(foreign_keys=[staff_id], lazy="joined")
    rectification: Mapped[Rectification | None] = relationship(
        back_populates="rating", uselist=False, lazy="selectin"
    )

    @property
    def poor(self) -> bool:
        return self.level in POOR_LEVELS

    @property
    def scores(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in INDICATORS}

    def __str__(self) -> str:
        return self.case_number


class Rectification(db.Model):
    """The looking into, putting right and following up of one poor rating (整改)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finding: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rectified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    followup_on: Mapped[date | None] = mapped_column(Date)
    followup_way: Mapped[str | None] = mapped_column(String(20))
    followup_result: Mapped[str | None] = mapped_column(String(30))
    followup_note: Mapped[str] = mapped_column(Text, default="")
    followed_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The NC a repeat on the same item and window escalated to, on every rectification
    # of the recurrence.
    nc_number: Mapped[str | None] = mapped_column(String(30), index=True)

    rating: Mapped[Rating] = relationship(back_populates="rectification", lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    rectified_by: Mapped[User | None] = relationship(foreign_keys=[rectified_by_id])
    followed_up_by: Mapped[User | None] = relationship(foreign_keys=[followed_up_by_id])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def __str__(self) -> str:
        return self.number

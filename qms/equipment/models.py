"""The equipment register: instruments, their calibrations, and the reminders sent.

An instrument's status follows a state table (:data:`TRANSITIONS`) the services enforce;
each calibration or verification is a history row, and the instrument keeps the last
result and the next due date they give.
"""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import Department, User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

KINDS = ("calibration", "verification")
INTERVAL_UNITS = ("months", "days")
RESULTS = ("pass", "out_of_tolerance", "adjusted")
#: A result after which the instrument measures correctly (adjusted: put right and passed).
GOOD_RESULTS = ("pass", "adjusted")
STATUSES = ("in_use", "out_of_calibration", "withdrawn")
#: The status changes a person may make by hand. Back into use from out of calibration
#: only by a good calibration result, never by hand.
TRANSITIONS = {
    ("in_use", "out_of_calibration"),
    ("in_use", "withdrawn"),
    ("out_of_calibration", "withdrawn"),
    ("withdrawn", "in_use"),
}


class Equipment(db.Model):
    """A monitoring or measuring instrument and its calibration state."""

    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The identification number marked on the instrument, e.g. EQ-0007.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The measurement it serves, e.g. "mass", "length"; a record field may ask for it.
    measurement: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="calibration")
    interval_value: Mapped[int] = mapped_column(Integer)
    interval_unit: Mapped[str] = mapped_column(String(10), default="months")
    last_calibrated_on: Mapped[date | None] = mapped_column(Date)
    last_result: Mapped[str | None] = mapped_column(String(20))
    next_due: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_use", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The register lists both on every row.
    owner: Mapped[User] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    calibrations: Mapped[list["Calibration"]] = relationship(
        order_by=lambda: (Calibration.performed_on.desc(), Calibration.id.desc()),
        back_populates="equipment",
    )

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Calibration(db.Model):
    """One calibration or verification of an instrument, with its certificate."""

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    performed_on: Mapped[date] = mapped_column(Date, index=True)
    result: Mapped[str] = mapped_column(String(20), index=True)
    performed_by: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    certificate_sha256: Mapped[str | None] = mapped_column(String(64), info={"attachment": True})
    certificate_name: Mapped[str | None] = mapped_column(String(255))
    next_due: Mapped[date] = mapped_column(Date)
    # The nonconformity an out-of-tolerance result raised.
    nc_number: Mapped[str | None] = mapped_column(String(40))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    equipment: Mapped[Equipment] = relationship(back_populates="calibrations")
    recorded_by: Mapped[User] = relationship(lazy="joined")


class EquipmentReminder(db.Model):
    """A reminder sent: one per instrument and due date, so none goes twice."""

    __tablename__ = "equipment_reminder"
    __table_args__ = (
        UniqueConstraint("equipment_id", "due_date", name="uq_equipment_reminder_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    due_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

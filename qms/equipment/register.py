"""The register: adding and changing instruments, their status, lists, and which
instruments a new record may name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from qms import clock, trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.equipment import labels
from qms.equipment.models import (
    GOOD_RESULTS,
    KINDS,
    STATUSES,
    TRANSITIONS,
    Calibration,
    Equipment,
)
from qms.equipment.permissions import can_change_status, can_manage
from qms.equipment.rules import (
    _department,
    _guard,
    _interval,
    _optional,
    _owner,
    _past_date,
    _snapshot,
    _text,
    is_overdue,
    next_due_from,
    remind_days,
)
from qms.errors import Conflict, NotFound, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

# -- the register -------------------------------------------------------------------------


@transactional
def register_equipment(
    actor: User,
    name: str,
    owner: str,
    measurement: str,
    interval_value: int,
    interval_unit: str = "months",
    kind: str = "calibration",
    number: str | None = None,
    serial: str = "",
    location: str = "",
    department: str | None = None,
    last_calibrated_on: date | None = None,
    note: str = "",
) -> Equipment:
    """Add an instrument to the register.

    Without ``number`` it is numbered EQ-0001, EQ-0002 …; without a last calibration it
    is out of calibration until one is recorded, so no measurement relies on it untested.
    """
    _guard(can_manage(actor))
    if kind not in KINDS:
        raise ValidationFailed(_("Choose calibration or verification."), field="kind")
    value, unit = _interval(interval_value, interval_unit)
    person = _owner(owner)
    eq = Equipment(
        name=_text(name, "name", _("A name is required."), 200),
        serial=_optional(serial, "serial", 100),
        location=_optional(location, "location", 200),
        owner_id=person.id,
        department_id=_department(department, person).id,
        measurement=_text(
            measurement, "measurement", _("Say which measurement the instrument serves."), 100
        ),
        kind=kind,
        interval_value=value,
        interval_unit=unit,
        note=_optional(note, "note", 4000),
    )
    if last_calibrated_on is not None:
        eq.last_calibrated_on = _past_date(last_calibrated_on, "last_calibrated_on")
        eq.next_due = next_due_from(eq.last_calibrated_on, value, unit)
        eq.last_result = "pass"
        # The calibration it came with starts its history, as the last good one.
        eq.calibrations.append(
            Calibration(
                performed_on=eq.last_calibrated_on,
                result="pass",
                next_due=eq.next_due,
                note=_("Calibration in force when registered."),
                recorded_by_id=actor.id,
            )
        )
    eq.status = "in_use" if eq.next_due and eq.next_due >= clock.today() else "out_of_calibration"
    number = (number or "").strip()
    if number:
        eq.number = _text(number, "number", _("Give the identification number."), 40)
        if db.session.scalar(select(Equipment.id).where(Equipment.number == eq.number)):
            raise ValidationFailed(
                _("There is already an instrument %(number)s.", number=eq.number), field="number"
            )
    else:
        eq.number = f"EQ-{next_number('EQ'):04d}"
    db.session.add(eq)
    db.session.flush()
    db.session.refresh(eq)
    trail.record("equipment.registered", "equipment", eq.number, after=_snapshot(eq), user=actor)
    return eq


EDITABLE = (
    "name",
    "serial",
    "location",
    "department",
    "owner",
    "measurement",
    "kind",
    "interval_value",
    "interval_unit",
    "note",
)


@transactional
def update_equipment(actor: User, eq: Equipment, **changes) -> Equipment:
    """Change what the register says about an instrument (any of :data:`EDITABLE`).

    A new interval moves the next due date, counted from the last calibration.
    """
    _guard(can_manage(actor))
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(
            _("%(name)s cannot be changed here.", name=", ".join(unknown)), field=unknown[0]
        )
    before = _snapshot(eq)
    if "name" in changes:
        eq.name = _text(changes["name"], "name", _("A name is required."), 200)
    if "serial" in changes:
        eq.serial = _optional(changes["serial"], "serial", 100)
    if "location" in changes:
        eq.location = _optional(changes["location"], "location", 200)
    if "owner" in changes:
        eq.owner = _owner(changes["owner"])
    if "department" in changes:
        eq.department = _department(changes["department"], eq.owner)
    if "measurement" in changes:
        eq.measurement = _text(
            changes["measurement"],
            "measurement",
            _("Say which measurement the instrument serves."),
            100,
        )
    if "kind" in changes:
        if changes["kind"] not in KINDS:
            raise ValidationFailed(_("Choose calibration or verification."), field="kind")
        eq.kind = changes["kind"]
    if "interval_value" in changes or "interval_unit" in changes:
        eq.interval_value, eq.interval_unit = _interval(
            changes.get("interval_value", eq.interval_value),
            changes.get("interval_unit", eq.interval_unit),
        )
        if eq.last_calibrated_on is not None:
            eq.next_due = next_due_from(eq.last_calibrated_on, eq.interval_value, eq.interval_unit)
    if "note" in changes:
        eq.note = _optional(changes["note"], "note", 4000)
    after = _snapshot(eq)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    eq.updated_at = utcnow()
    db.session.flush()
    trail.record("equipment.changed", "equipment", eq.number, before, after, user=actor)
    return eq


@transactional
def change_status(actor: User, eq: Equipment, to: str, reason: str = "") -> Equipment:
    """Take an instrument out of use, withdraw it, or put a withdrawn one back in use.

    The state table is :data:`~qms.equipment.models.TRANSITIONS`; an instrument goes back
    into use only with a good calibration that is not overdue.
    """
    _guard(can_change_status(actor, eq))
    if to not in STATUSES:
        raise ValidationFailed(_("Choose a status."), field="status")
    if (eq.status, to) not in TRANSITIONS:
        if eq.status == "out_of_calibration" and to == "in_use":
            message = _("%(number)s goes back into use with a good calibration result only.")
        else:
            message = _("%(number)s cannot go from %(from)s to %(to)s.")
        raise Conflict(
            message
            % {
                "number": eq.number,
                "from": labels.status_label(eq.status),
                "to": labels.status_label(to),
            }
        )
    if to == "in_use" and (is_overdue(eq) or eq.last_result not in GOOD_RESULTS):
        raise Conflict(
            _(
                "%(number)s has no good calibration in force; record one to put it back in use.",
                number=eq.number,
            )
        )
    reason = (reason or "").strip()
    if to != "in_use" and not reason:
        raise ValidationFailed(_("Give the reason."), field="reason")
    before = eq.status
    eq.status = to
    eq.updated_at = utcnow()
    db.session.flush()
    trail.record(
        "equipment.status_changed",
        "equipment",
        eq.number,
        before={"status": before},
        after={"status": to, "reason": reason},
        user=actor,
    )
    return eq


def get_equipment(number: str) -> Equipment:
    eq = db.session.scalar(select(Equipment).where(Equipment.number == (number or "").strip()))
    if eq is None:
        raise NotFound(_("There is no instrument %(number)s.", number=number))
    return eq


@dataclass
class EquipmentFilters:
    status: str | None = None
    measurement: str | None = None
    owner: str | None = None
    department: str | None = None
    #: "due" (within the reminder window, not yet overdue) or "overdue".
    due: str | None = None
    q: str | None = None


def list_equipment(filters: EquipmentFilters | None = None, today: date | None = None):
    """Return a select() over the register with the given filters, by number."""
    f = filters or EquipmentFilters()
    today = today or clock.today()
    stmt = select(Equipment).order_by(Equipment.number)
    if f.status:
        stmt = stmt.where(Equipment.status == f.status)
    if f.measurement:
        stmt = stmt.where(Equipment.measurement == f.measurement)
    if f.owner:
        stmt = stmt.where(Equipment.owner_id.in_(select(User.id).where(User.username == f.owner)))
    if f.department:
        stmt = stmt.where(
            Equipment.department_id.in_(
                select(Department.id).where(Department.name == f.department)
            )
        )
    if f.due == "overdue":
        stmt = stmt.where(Equipment.status != "withdrawn", Equipment.next_due < today)
    elif f.due == "due":
        stmt = stmt.where(
            Equipment.status != "withdrawn",
            Equipment.next_due >= today,
            Equipment.next_due <= today + timedelta(days=remind_days()),
        )
    if f.q:
        term = f"%{f.q.strip().lower()}%"
        stmt = stmt.where(
            db.func.lower(Equipment.number).like(term)
            | db.func.lower(Equipment.name).like(term)
            | db.func.lower(Equipment.serial).like(term)
        )
    return stmt


def measurements() -> list[str]:
    stmt = select(Equipment.measurement).distinct().order_by(Equipment.measurement)
    return list(db.session.scalars(stmt))


def due_for(user: User, today: date | None = None) -> list[Equipment]:
    """Return the user's instruments due within the reminder window or overdue."""
    today = today or clock.today()
    horizon = today + timedelta(days=remind_days())
    return list(
        db.session.scalars(
            select(Equipment)
            .where(
                Equipment.owner_id == user.id,
                Equipment.status != "withdrawn",
                (Equipment.next_due.is_(None)) | (Equipment.next_due <= horizon),
            )
            .order_by(Equipment.next_due, Equipment.number)
        )
    )


# -- what a record form may name ----------------------------------------------------------


def record_problem(number: str, today: date | None = None) -> str | None:
    """Return why a new record may not name the instrument ``number``, or None if it may."""
    eq = db.session.scalar(select(Equipment).where(Equipment.number == number))
    if eq is None:
        return _("Choose an instrument from the equipment register.")
    if eq.status == "withdrawn":
        return _("%(number)s is withdrawn; choose another instrument.", number=eq.number)
    if eq.status == "out_of_calibration":
        return _("%(number)s is out of calibration; choose another instrument.", number=eq.number)
    if is_overdue(eq, today):
        return _(
            "%(number)s is overdue for calibration; choose another instrument.", number=eq.number
        )
    return None


def usable_choices(measurement: str | None = None) -> list[tuple[str, str]]:
    """Return (number, label) of the instruments a new record may name."""
    stmt = select(Equipment).where(
        Equipment.status == "in_use", Equipment.next_due >= clock.today()
    )
    if measurement:
        stmt = stmt.where(Equipment.measurement == measurement)
    return [
        (eq.number, f"{eq.number} {eq.name}")
        for eq in db.session.scalars(stmt.order_by(Equipment.number))
    ]


def usable_choices_by_measurement(kept: set[str] | None = None) -> list[tuple[str, str, str]]:
    """Return (number, label, measurement) of every instrument a new record may name, and
    of those ``kept`` names (what a record being amended already names, usable or not)."""
    usable = (Equipment.status == "in_use") & (Equipment.next_due >= clock.today())
    stmt = select(Equipment).where(
        or_(usable, Equipment.number.in_(sorted(kept or ()))) if kept else usable
    )
    return [
        (eq.number, f"{eq.number} {eq.name}", eq.measurement)
        for eq in db.session.scalars(stmt.order_by(Equipment.number))
    ]

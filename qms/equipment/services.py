"""The rules of the equipment register (§7.1.5), used by both the pages and the API.

An instrument is usable for a measurement while it is in use and its calibration is not
overdue; the periodic job turns an overdue one out of calibration and reminds its owner
once per due date. An out-of-tolerance result raises a nonconformity, through the
improvement domain's own service, naming the records made with the instrument since its
last good calibration (§7.1.5.2). Every change leaves a trail event; nothing here commits.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qms import attachments, clock, trail, uow
from qms.auth.models import Department, User
from qms.database import next_number
from qms.equipment import labels
from qms.equipment.models import (
    GOOD_RESULTS,
    INTERVAL_UNITS,
    KINDS,
    RESULTS,
    STATUSES,
    TRANSITIONS,
    Calibration,
    Equipment,
    EquipmentReminder,
)
from qms.equipment.permissions import can_change_status, can_manage, can_record_calibration
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

#: Reminders go out this many days before the due date (and once it is overdue).
REMIND_DAYS = 14
MAX_INTERVAL = {"months": 120, "days": 3650}
#: The index key under which a record names the instruments its fields name (a field's
#: own key cannot start with "@", so it never clashes with one).
RECORD_KEY = "@equipment"


def remind_days() -> int:
    return int(current_app.config.get("QMS_EQUIPMENT_REMIND_DAYS") or REMIND_DAYS)


# -- dates --------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months``, on the month's last day where it is shorter."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due_from(performed_on: date, value: int, unit: str) -> date:
    """Return when the next calibration is due after one on ``performed_on``."""
    if unit == "days":
        return performed_on + timedelta(days=value)
    return add_months(performed_on, value)


def is_overdue(eq: Equipment, today: date | None = None) -> bool:
    today = today or clock.today()
    return eq.next_due is None or eq.next_due < today


def usable(eq: Equipment, today: date | None = None) -> bool:
    """Return whether a new measurement may be made with the instrument."""
    return eq.status == "in_use" and not is_overdue(eq, today)


# -- checks -------------------------------------------------------------------------------


def _guard(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Only the quality office or the instrument's owner may do this."))


def _text(value, field: str, message: str, limit: int) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value:
        raise ValidationFailed(message, field=field)
    if len(value) > limit:
        raise ValidationFailed(_("Use at most %(n)s characters.", n=limit), field=field)
    return value


def _optional(value, field: str, limit: int) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if len(value) > limit:
        raise ValidationFailed(_("Use at most %(n)s characters.", n=limit), field=field)
    return value


def _owner(username: str | None) -> User:
    user = db.session.scalar(
        select(User).where(User.username == (username or "").strip(), User.active.is_(True))
    )
    if user is None:
        raise ValidationFailed(_("Name the owner, a person with an account."), field="owner")
    return user


def _department(name: str | None, owner: User) -> Department:
    if not (name or "").strip():
        return owner.department
    dept = db.session.scalar(select(Department).where(Department.name == name.strip()))
    if dept is None:
        raise ValidationFailed(
            _("There is no department %(name)s.", name=name.strip()), field="department"
        )
    return dept


def _interval(value, unit: str) -> tuple[int, str]:
    if unit not in INTERVAL_UNITS:
        raise ValidationFailed(_("Give the interval in months or days."), field="interval_unit")
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not 1 <= value <= MAX_INTERVAL[unit]:
        raise ValidationFailed(
            _(
                "The interval must be a whole number from 1 to %(max)s %(unit)s.",
                max=MAX_INTERVAL[unit],
                unit=labels.unit_label(unit),
            ),
            field="interval_value",
        )
    return value, unit


def _past_date(value, field: str) -> date:
    if not isinstance(value, date):
        raise ValidationFailed(_("Give a date as YYYY-MM-DD."), field=field)
    if value > clock.today():
        raise ValidationFailed(_("The date cannot be in the future."), field=field)
    return value


def _snapshot(eq: Equipment) -> dict:
    return {
        "name": eq.name,
        "serial": eq.serial,
        "location": eq.location,
        "department": eq.department.name if eq.department else None,
        "owner": eq.owner.username if eq.owner else None,
        "measurement": eq.measurement,
        "kind": eq.kind,
        "interval": f"{eq.interval_value} {eq.interval_unit}",
        "next_due": eq.next_due.isoformat() if eq.next_due else None,
        "status": eq.status,
        "note": eq.note,
    }


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


# -- calibrations -------------------------------------------------------------------------


def last_good(eq: Equipment, before: Calibration | None = None) -> Calibration | None:
    """Return the instrument's last good calibration (before ``before``, when given)."""
    for cal in eq.calibrations:
        if before is not None and cal.id == before.id:
            continue
        if cal.result in GOOD_RESULTS:
            return cal
    return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=clock.zone())


def records_since_last_good(eq: Equipment, before: Calibration | None = None) -> list[str]:
    """Return the numbers of the records naming the instrument since its last good calibration.

    Since the day it was done; every record naming it when it never had one.
    """
    from qms.records import services as records

    good = last_good(eq, before)
    since = _day_start(good.performed_on) if good else None
    return records.numbers_with_value(RECORD_KEY, eq.number, since)


@transactional
def record_calibration(
    actor: User,
    eq: Equipment,
    performed_on: date,
    result: str,
    performed_by: str = "",
    note: str = "",
    certificate: tuple[IO[bytes], str | None] | None = None,
) -> Calibration:
    """Record a calibration or verification with its certificate; set the next due date.

    A good result puts an instrument that was out of calibration back in use; an
    out-of-tolerance result takes it out of use and raises a nonconformity that lists the
    records made with it since its last good calibration.

    :raises ValidationFailed: a bad date or result, or a refused certificate file.
    """
    _guard(can_record_calibration(actor, eq))
    if result not in RESULTS:
        raise ValidationFailed(
            _("Choose the result: pass, out of tolerance or adjusted."), field="result"
        )
    performed_on = _past_date(performed_on, "performed_on")
    if eq.last_calibrated_on is not None and performed_on < eq.last_calibrated_on:
        raise ValidationFailed(
            _(
                "%(number)s was last calibrated on %(date)s; a calibration cannot be "
                "recorded before it.",
                number=eq.number,
                date=eq.last_calibrated_on.isoformat(),
            ),
            field="performed_on",
        )
    cal = Calibration(
        equipment_id=eq.id,
        performed_on=performed_on,
        result=result,
        performed_by=_optional(performed_by, "performed_by", 200),
        note=_optional(note, "note", 4000),
        next_due=next_due_from(performed_on, eq.interval_value, eq.interval_unit),
        recorded_by_id=actor.id,
    )
    if certificate is not None:
        stream, filename = certificate
        if stream is None or not (filename or "").strip():
            raise ValidationFailed(_("Choose a file to upload."), field="certificate")
        stored = attachments.save(stream, filename, field="certificate")
        cal.certificate_sha256, cal.certificate_name = stored.sha256, stored.name
    before = {"status": eq.status, "last_result": eq.last_result, "next_due": eq.next_due}
    db.session.add(cal)
    db.session.flush()
    db.session.refresh(eq)
    eq.last_calibrated_on, eq.last_result, eq.next_due = performed_on, result, cal.next_due
    if eq.status != "withdrawn":
        if result in GOOD_RESULTS and cal.next_due >= clock.today():
            eq.status = "in_use"
        elif result not in GOOD_RESULTS:
            eq.status = "out_of_calibration"
    eq.updated_at = utcnow()
    if result == "out_of_tolerance":
        cal.nc_number = _raise_nc(actor, eq, cal).number
    db.session.flush()
    trail.record(
        "equipment.calibrated",
        "equipment",
        eq.number,
        before={k: v.isoformat() if isinstance(v, date) else v for k, v in before.items()},
        after={
            "performed_on": performed_on.isoformat(),
            "result": result,
            "next_due": cal.next_due.isoformat(),
            "status": eq.status,
            "certificate": cal.certificate_sha256,
            "nc": cal.nc_number,
        },
        user=actor,
    )
    return cal


def _raise_nc(actor: User, eq: Equipment, cal: Calibration):
    """Raise the NC of an out-of-tolerance result, asking which measurements it affects."""
    from qms.improvement import services as improvement

    numbers = records_since_last_good(eq, before=cal)
    good = last_good(eq, before=cal)
    since = good.performed_on if good else None
    lines = [
        _(
            "%(number)s %(name)s (%(measurement)s) was found out of tolerance on %(date)s.",
            number=eq.number,
            name=eq.name,
            measurement=eq.measurement,
            date=cal.performed_on.isoformat(),
        )
    ]
    if cal.note:
        lines.append(cal.note)
    if numbers:
        lines.append(
            _(
                "Records made with it since its last good calibration (%(date)s):",
                date=since.isoformat(),
            )
            if since
            else _("Records made with it (it has had no good calibration):")
        )
        lines += [f"- {n}" for n in numbers]
        lines.append(
            _(
                "Which of these measurements are affected? Assess each result and say what "
                "is done about it (§7.1.5.2)."
            )
        )
    else:
        lines.append(_("No record names the instrument since its last good calibration."))
    return improvement.raise_nc(
        actor,
        _("%(number)s %(name)s out of tolerance", number=eq.number, name=eq.name)[:300],
        "\n".join(lines),
        "process_monitoring",
        department=eq.department.name,
        clause="7.1.5.2",
        responsible=eq.owner.username,
        records=numbers,
    )


def certificate_path(cal: Calibration):
    return attachments.path(cal.certificate_sha256)


def get_calibration(eq: Equipment, cal_id: int) -> Calibration:
    cal = db.session.get(Calibration, cal_id)
    if cal is None or cal.equipment_id != eq.id:
        raise NotFound(_("There is no such calibration of %(number)s.", number=eq.number))
    return cal


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


def usable_choices_by_measurement() -> list[tuple[str, str, str]]:
    """Return (number, label, measurement) of every instrument a new record may name."""
    stmt = select(Equipment).where(
        Equipment.status == "in_use", Equipment.next_due >= clock.today()
    )
    return [
        (eq.number, f"{eq.number} {eq.name}", eq.measurement)
        for eq in db.session.scalars(stmt.order_by(Equipment.number))
    ]


# -- the periodic job: overdue and reminders ----------------------------------------------


@transactional
def mark_overdue(today: date | None = None) -> list[str]:
    """Turn every instrument in use whose due date has passed out of calibration."""
    today = today or clock.today()
    done = []
    for eq in db.session.scalars(
        select(Equipment)
        .where(Equipment.status == "in_use", Equipment.next_due < today)
        .with_for_update()
    ):
        eq.status = "out_of_calibration"
        eq.updated_at = utcnow()
        trail.record(
            "equipment.status_changed",
            "equipment",
            eq.number,
            before={"status": "in_use"},
            after={"status": "out_of_calibration", "reason": "overdue"},
        )
        done.append(eq.number)
    return done


def send_reminders(today: date | None = None) -> list[str]:
    """Remind each owner of an instrument due soon or overdue, once per due date."""
    today = today or clock.today()
    horizon = today + timedelta(days=remind_days())
    sent: list[str] = []
    due = db.session.scalars(
        select(Equipment.id).where(
            Equipment.status != "withdrawn",
            Equipment.next_due.is_not(None),
            Equipment.next_due <= horizon,
        )
    ).all()
    for ident in due:
        try:
            _claim(ident, today, sent)
        except IntegrityError:
            continue  # another run claimed it first
    return sent


@transactional
def _claim(ident: int, today: date, sent: list[str]) -> None:
    from qms.improvement import mail

    eq = db.session.get(Equipment, ident)
    exists = db.session.scalar(
        select(EquipmentReminder.id).where(
            EquipmentReminder.equipment_id == eq.id, EquipmentReminder.due_date == eq.next_due
        )
    )
    if exists is not None:
        return
    reminder = EquipmentReminder(equipment_id=eq.id, due_date=eq.next_due)
    db.session.add(reminder)
    db.session.flush()  # a run that claimed it at the same moment makes this fail
    message = mail.compose(
        eq.owner, "equipment/mail/reminder.txt", eq=eq, overdue=eq.next_due < today
    )
    line = f"{eq.number} {eq.next_due.isoformat()} -> {eq.owner.username}"
    reminder_id = reminder.id

    def deliver_or_give_up() -> None:
        if mail.deliver(message):
            sent.append(line)
        else:
            _give_up(reminder_id)

    uow.after_commit(deliver_or_give_up)


@transactional
def _give_up(reminder_id: int) -> None:
    """Forget a claim whose message was not accepted, for the next run to retry."""
    db.session.execute(
        EquipmentReminder.__table__.delete().where(EquipmentReminder.id == reminder_id)
    )


def run_daily(today: date | None = None) -> dict:
    """The periodic job's work: overdue instruments out of calibration, then reminders."""
    return {"overdue": mark_overdue(today), "reminded": send_reminders(today)}


# -- management review figures (§9.3.2 d) -------------------------------------------------


def review_figures(start: date, end: date) -> dict:
    """Return the register's figures for a review period: counts as the period ends."""
    as_of = min(end, clock.today())
    horizon = as_of + timedelta(days=remind_days())
    active = [
        eq
        for eq in db.session.scalars(select(Equipment).where(Equipment.status != "withdrawn"))
        if eq.created_at is None or eq.created_at.date() <= end
    ]
    overdue = [eq for eq in active if eq.next_due is None or eq.next_due < as_of]
    due = [eq for eq in active if eq.next_due is not None and as_of <= eq.next_due <= horizon]
    oot = db.session.scalars(
        select(Calibration).where(
            Calibration.result == "out_of_tolerance",
            Calibration.performed_on >= start,
            Calibration.performed_on <= end,
        )
    ).all()
    calibrated = db.session.scalar(
        select(db.func.count(Calibration.id)).where(
            Calibration.performed_on >= start, Calibration.performed_on <= end
        )
    )
    return {
        "instruments": len(active),
        "due": len(due),
        "overdue": len(overdue),
        "calibrations": calibrated or 0,
        "out_of_tolerance": len(oot),
        "out_of_tolerance_items": [
            (cal.equipment.number, cal.performed_on, cal.nc_number) for cal in oot
        ],
    }

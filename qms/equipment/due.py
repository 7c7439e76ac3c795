"""Work of the periodic job (overdue instruments out of calibration, one reminder per
instrument and due date) and the figures for the management review."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qms import clock, trail, uow
from qms.equipment.models import (
    Calibration,
    Equipment,
    EquipmentReminder,
)
from qms.equipment.rules import (
    remind_days,
)
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

# -- the periodic job: overdue and reminders ----------------------------------------------


@transactional
def mark_overdue(today: date | None = None) -> list[str]:
    """Turn every instrument in use whose due date has passed out of calibration."""
    today = today or clock.today()
    done = []
    for eq in db.session.scalars(
        select(Equipment)
        .where(Equipment.status == "in_use", Equipment.next_due < today)
        .with_for_update(of=Equipment)
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

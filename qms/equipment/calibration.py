"""Calibrations: results with certificates, and the nonconformity an out-of-tolerance
result raises, naming the records made since the last good calibration (§7.1.5.2)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import IO

from flask_babel import gettext as _

from qms import attachments, clock, trail
from qms.auth.models import User
from qms.equipment.models import (
    GOOD_RESULTS,
    RESULTS,
    Calibration,
    Equipment,
)
from qms.equipment.permissions import can_record_calibration
from qms.equipment.rules import (
    RECORD_KEY,
    _guard,
    _optional,
    _past_date,
    next_due_from,
)
from qms.errors import NotFound, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

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

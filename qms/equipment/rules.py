"""Dates, checks and limits the equipment register's rules share."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.auth.models import Department, User
from qms.equipment import labels
from qms.equipment.models import (
    INTERVAL_UNITS,
    Equipment,
)
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db

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

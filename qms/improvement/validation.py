"""Checks shared by the NC and action services: text, choices, due dates, people, clauses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.auth.models import Department
from qms.errors import Conflict, ValidationFailed
from qms.extensions import db
from qms.text import LONG_TEXT, within

CLAUSE_RE = re.compile(r"^(?:[4-9]|10)(?:\.\d{1,2}){0,3}$")


def find_department(name: str | None, default: Department) -> Department:
    """Return the department called ``name``, or ``default`` when none is named."""
    name = (name or "").strip()
    if not name:
        return default
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field="department")
    return dept


def text(value: str | None, field_name: str, message: str, limit: int = LONG_TEXT) -> str:
    """Return ``value`` stripped, refusing it with ``message`` when blank or too long."""
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field_name)
    return within(value, limit, field_name)


def validate_clause(clause: str | None) -> str | None:
    """Return an ISO 9001:2015 clause number (None for blank), or refuse it."""
    clause = (clause or "").strip()
    if not clause:
        return None
    if not CLAUSE_RE.match(clause):
        raise ValidationFailed(
            _("%(clause)s is not an ISO 9001:2015 clause (4 to 10.3).", clause=clause),
            field="clause",
        )
    return clause


def choice(value: str | None, allowed: Iterable[str], field_name: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationFailed(
            _("Choose one of: %(choices)s.", choices=", ".join(allowed)), field=field_name
        )
    return value


def due(value: date | None, field_name: str = "due_date", required: bool = False):
    """Return a due date that is not in the organisation's past (None when optional)."""
    if value is None:
        if required:
            raise ValidationFailed(_("A due date is required."), field=field_name)
        return None
    if not isinstance(value, date):
        raise ValidationFailed(_("Give a date as YYYY-MM-DD."), field=field_name)
    if value < clock.today():
        raise ValidationFailed(_("The due date cannot be in the past."), field=field_name)
    return value


def transition_rule(
    transitions: dict[tuple[str, str], str],
    states: Iterable[str],
    number: str,
    state: str,
    to: str,
    label: Callable[[str], str],
) -> str:
    """Return who may take ``state`` -> ``to`` in ``transitions``, or refuse the move."""
    if to not in states:
        raise ValidationFailed(
            _("Choose one of: %(choices)s.", choices=", ".join(states)), field="to"
        )
    who = transitions.get((state, to))
    if who is None:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it cannot move to %(to)s from there.",
                number=number,
                state=label(state),
                to=label(to),
            ),
            field="to",
        )
    return who

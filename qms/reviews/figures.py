"""Figures the system already knows, computed through the owning domains' services.

Each function returns a :class:`Figure` whose ``value`` is None when there is nothing to
compute it from (no NC closed in the period, no audit programme): the page then says
"not available", never a guess.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from qms import clock
from qms.audits import services as audits
from qms.documents import services as documents
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str = ""
    # Human-readable basis of the figure, e.g. "12 of 15".
    detail: str = ""
    # Structured numbers behind it, kept in a review's frozen inputs.
    data: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "detail": self.detail,
            "data": self.data,
        }


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _day(value) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _within(value, start: date, end: date) -> bool:
    day = _day(value)
    return day is not None and start <= day <= end


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def overdue_actions(today: date | None = None) -> Figure:
    """Open actions whose due date has passed."""
    label = _("Overdue actions")
    today = today or clock.today()
    # Their numbers and due dates only: thousands of open actions are no reason to load
    # each with its owner and NC.
    open_actions = improvement.list_actions(improvement.ActionFilters(open_only=True)).subquery()
    actions = db.session.execute(select(open_actions.c.number, open_actions.c.due_date)).all()
    overdue = [number for number, due in actions if due < today]
    return Figure(
        "overdue_actions",
        label,
        float(len(overdue)),
        detail=_("%(n)d of %(total)d open", n=len(overdue), total=len(actions)),
        data={
            "overdue": overdue,
            "open": len(actions),
        },
    )


def nc_closure_days(start: date, end: date) -> Figure:
    """Average days from raising to closing, over the NCs closed in [start, end]."""
    label = _("Average NC closure time")
    closed = [
        nc
        for nc in db.session.scalars(improvement.list_ncs(improvement.NcFilters(state="closed")))
        if nc.closed_at is not None and start <= _day(nc.closed_at) <= end
    ]
    if not closed:
        return Figure(
            "nc_closure_days", label, None, _("days"), detail=_("no NC closed in the period")
        )
    days = [improvement.days_open(nc) for nc in closed]
    return Figure(
        "nc_closure_days",
        label,
        round(sum(days) / len(days), 1),
        _("days"),
        detail=ngettext("over %(num)d closed NC", "over %(num)d closed NCs", len(closed)),
        data={"closed": [nc.number for nc in closed], "days": days},
    )


DONE_AUDIT_STATES = ("reported", "closed")


def audit_completion(year: int) -> Figure:
    """Share of the year's programmed audits carried out (reported or closed).

    Each department or process of the programme counts for as many audits as its planned
    frequency; audits beyond that frequency do not make up for another unit's shortfall.
    """
    label = _("Audit programme completion")
    states = {a.ref: a.state for a in db.session.scalars(audits.list_audits(year=year))}
    done = planned = 0
    for row in audits.coverage(year).rows:
        if row.unit is None:
            continue
        planned += row.unit.frequency
        carried_out = sum(1 for ref in row.audits if states.get(ref) in DONE_AUDIT_STATES)
        done += min(carried_out, row.unit.frequency)
    if not planned:
        return Figure(
            "audit_completion",
            label,
            None,
            "%",
            detail=_("no audit programme for %(year)d", year=year),
        )
    return Figure(
        "audit_completion",
        label,
        _percent(done, planned),
        "%",
        detail=_("%(done)d of %(planned)d audits", done=done, planned=planned),
        data={"done": done, "planned": planned, "year": year},
    )


def ack_coverage() -> Figure:
    """Share of the staff concerned who have acknowledged the current effective revisions."""
    done, expected = documents.acknowledgement_totals()
    return Figure(
        "ack_coverage",
        _("Acknowledgement coverage of effective documents"),
        _percent(done, expected),
        "%",
        detail=_("%(done)d of %(expected)d readings", done=done, expected=expected),
        data={"acknowledged": done, "expected": expected},
    )


def forms_used(start: date, end: date) -> Figure:
    """Share of the effective record forms with at least one record in [start, end]."""
    label = _("Record forms used in the period")
    codes = set(records.form_codes())
    period = records.list_records(date_from=start, date_to=end).subquery()
    used = set(
        db.session.scalars(select(period.c.form_code).where(period.c.status != "void").distinct())
    )
    used &= codes
    return Figure(
        "forms_used",
        label,
        _percent(len(used), len(codes)),
        "%",
        detail=_("%(used)d of %(total)d forms", used=len(used), total=len(codes)),
        data={"used": sorted(used), "forms": len(codes)},
    )


def training_coverage(today: date | None = None) -> Figure:
    """Share of the training the positions require that is done and still valid (§7.2)."""
    from qms.training import matrix

    by_department = matrix.coverage_by_department(today)
    total = by_department.pop("*")
    return Figure(
        "training_coverage",
        _("Training coverage"),
        total.percent,
        "%",
        detail=_("%(done)d of %(required)d trainings", done=total.done, required=total.required),
        data={
            "required": total.required,
            "done": total.done,
            "overdue": total.overdue,
            "by_department": {name: c.percent for name, c in by_department.items()},
        },
    )


def output_ncs(start: date, end: date) -> Figure:
    """Nonconformities about outputs (certificates, licences, decisions) raised in [start, end]."""
    found = [
        nc
        for nc in improvement.output_ncs_raised(start - timedelta(days=1), end + timedelta(days=1))
        if _within(nc.raised_at, start, end)
    ]
    quantity = sum(nc.output.quantity for nc in found)
    return Figure(
        "output_ncs",
        _("Nonconforming outputs"),
        len(found),
        detail=_("%(n)d outputs affected", n=quantity),
        data={"ncs": sorted(nc.number for nc in found), "quantity": quantity},
    )


def output_rate(start: date, end: date, form_code: str) -> Figure:
    """Outputs affected by nonconformities per thousand issued in [start, end] (‰).

    What was issued is counted from the records of ``form_code`` (a certificate register,
    say) submitted in the period; what went wrong from the output NCs raised in it.
    """
    affected = output_ncs(start, end)
    period = records.list_records(form=form_code, date_from=start, date_to=end).subquery()
    issued = db.session.scalar(
        select(func.count()).select_from(period).where(period.c.status != "void")
    )
    quantity = affected.data["quantity"]
    return Figure(
        "output_rate",
        _("Nonconforming outputs per thousand issued"),
        round(quantity * 1000 / issued, 2) if issued else None,
        "‰",
        detail=_(
            "%(affected)d affected of %(issued)d issued (%(form)s)",
            affected=quantity,
            issued=issued,
            form=form_code,
        ),
        data={**affected.data, "issued": issued, "form": form_code},
    )


def compute(key: str, start: date, end: date, form_code: str | None = None) -> Figure:
    """Return the figure ``key`` (one of the computed objective sources) over [start, end]."""
    if key == "overdue_actions":
        return overdue_actions(min(end, clock.today()))
    if key == "nc_closure_days":
        return nc_closure_days(start, end)
    if key == "audit_completion":
        return audit_completion(end.year)
    if key == "ack_coverage":
        return ack_coverage()
    if key == "forms_used":
        return forms_used(start, end)
    if key == "training_coverage":
        return training_coverage(min(end, clock.today()))
    if key == "output_ncs":
        return output_ncs(start, end)
    if key == "output_rate":
        return output_rate(start, end, form_code)
    from qms.ratings import figures as ratings

    if key in ratings.SOURCES:
        return ratings.objective_figure(key, start, end)
    raise KeyError(key)

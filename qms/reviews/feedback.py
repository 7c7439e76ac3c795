"""Customer feedback: complaints and their responses, and satisfaction survey results."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth import visibility
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews import periods
from qms.reviews.labels import channel_label  # noqa: F401  (re-exported)
from qms.reviews.models import CHANNELS, Complaint, SurveyResult
from qms.reviews.objectives import _number
from qms.reviews.permissions import can_record_surveys, can_respond, can_see  # noqa: F401
from qms.text import LONG_TEXT, within
from qms.uow import transactional

# Days a department has to answer a complaint unless told otherwise.
DEFAULT_RESPONSE_DAYS = 7


def get_complaint(number: str, viewer: User | None = None) -> Complaint:
    """Return complaint ``number``; given a ``viewer``, only one they may see.

    :raises NotFound: there is none (that the viewer may see: its existence is not told).
    """
    complaint = db.session.scalar(select(Complaint).where(Complaint.number == number))
    if complaint is None or (viewer is not None and not can_see(viewer, complaint)):
        raise NotFound(_("There is no complaint %(number)s.", number=number))
    return complaint


def list_complaints(
    open_only: bool = False, department_id: int | None = None, viewer: User | None = None
):
    """Return a select() over complaints, newest first; given a ``viewer``, what they see."""
    stmt = select(Complaint)
    if viewer is not None:
        stmt = visibility.restrict(
            stmt, viewer, "complaint", Complaint.department_id, Complaint.raised_by_id
        )
    if open_only:
        stmt = stmt.where(Complaint.response.is_(None))
    if department_id:
        stmt = stmt.where(Complaint.department_id == department_id)
    return stmt.order_by(Complaint.received_on.desc(), Complaint.id.desc())


def _department(name: str | None) -> Department:
    dept = db.session.scalar(select(Department).where(Department.name == (name or "").strip()))
    if dept is None:
        raise ValidationFailed(_("Choose the department concerned."), field="department")
    return dept


@transactional
def register_complaint(
    actor: User,
    channel: str,
    received_on: date | None,
    content: str,
    department: str,
    person: str | None = None,
    response_due: date | None = None,
) -> Complaint:
    """Register a complaint as received; anyone may."""
    if channel not in CHANNELS:
        raise ValidationFailed(_("Choose how the complaint came in."), field="channel")
    if received_on is None:
        raise ValidationFailed(_("Give the date it was received."), field="received_on")
    if received_on > clock.today():
        raise ValidationFailed(_("The date received cannot be in the future."), field="received_on")
    content = (content or "").strip()
    if not content:
        raise ValidationFailed(_("Write down what the customer said."), field="content")
    within(content, LONG_TEXT, "content")
    person = within((person or "").strip(), 200, "person")
    dept = _department(department)
    due = response_due or received_on + timedelta(days=DEFAULT_RESPONSE_DAYS)
    if due < received_on:
        raise ValidationFailed(
            _("The response is due on or after the date received."), field="response_due"
        )
    year = received_on.year
    complaint = Complaint(
        number=f"CC-{year}-{next_number(f'CC-{year}'):04d}",
        channel=channel,
        received_on=received_on,
        person=person or None,
        content=content,
        department=dept,
        response_due=due,
        raised_by_id=actor.id,
    )
    db.session.add(complaint)
    trail.record(
        "complaint.registered",
        "complaint",
        complaint.number,
        after={
            "channel": channel,
            "received_on": received_on,
            "department": dept.name,
            "response_due": due,
        },
        user=actor,
    )
    return complaint


@transactional
def respond(
    actor: User, complaint: Complaint, response: str, satisfied: bool | None = None
) -> Complaint:
    """Record the response given and, once known, whether the customer was satisfied."""
    if not can_respond(actor, complaint):
        raise PermissionDenied(
            _("Only the department concerned or the quality office responds to a complaint.")
        )
    response = (response or "").strip()
    if not response:
        raise ValidationFailed(_("Write the response given."), field="response")
    within(response, LONG_TEXT, "response")
    before = {"response": complaint.response, "satisfied": complaint.satisfied}
    complaint.response = response
    complaint.responded_on = complaint.responded_on or clock.today()
    complaint.responded_by_id = actor.id
    complaint.satisfied = satisfied
    trail.record(
        "complaint.responded",
        "complaint",
        complaint.number,
        before=before,
        after={"response": response, "satisfied": satisfied},
        user=actor,
    )
    return complaint


@transactional
def link_nc(actor: User, complaint: Complaint, nc_number: str) -> Complaint:
    """Note the nonconformity raised from the complaint."""
    nc_number = (nc_number or "").strip()
    if complaint.nc_number:
        raise Conflict(
            _("%(number)s already raised %(nc)s.", number=complaint.number, nc=complaint.nc_number)
        )
    complaint.nc_number = nc_number
    trail.record(
        "complaint.nc_raised", "complaint", complaint.number, after={"nc": nc_number}, user=actor
    )
    return complaint


@transactional
def raise_nc(actor: User, complaint: Complaint) -> str:
    """Raise a nonconformity from the complaint through the improvement domain.

    The NC and its link from the complaint are one unit: when the link is refused (another
    request raised one meanwhile), no NC is left behind.
    """
    if not can_see(actor, complaint):
        raise NotFound(_("There is no complaint %(number)s.", number=complaint.number))
    if complaint.nc_number:
        raise Conflict(
            _("%(number)s already raised %(nc)s.", number=complaint.number, nc=complaint.nc_number)
        )
    nc = improvement.raise_nc(
        actor,
        _("Complaint %(number)s", number=complaint.number),
        complaint.content,
        "customer_complaint",
        department=complaint.department.name,
    )
    link_nc(actor, complaint, nc.number)
    return nc.number


# -- satisfaction surveys --------------------------------------------------------------


@transactional
def record_survey(actor: User, period: str, service: str, responses, score) -> SurveyResult:
    """Record (or correct) the survey result of one service in one period."""
    if not can_record_surveys(actor):
        raise PermissionDenied(_("Only the quality office (approver) or an administrator may."))
    period = (period or "").strip().upper()
    frequency = periods.frequency_of(period)
    if frequency is None:
        raise ValidationFailed(_("Write the period like 2026-10, 2026-Q3 or 2026."), field="period")
    period = periods.check(period, frequency)
    service = (service or "").strip()
    if not service:
        raise ValidationFailed(_("Name the service surveyed."), field="service")
    if len(service) > 200:
        raise ValidationFailed(_("At most 200 characters."), field="service")
    count = _number(responses, "responses", _("The number of responses"))
    if count < 1 or count != int(count):
        raise ValidationFailed(_("At least one response, as a whole number."), field="responses")
    value = _number(score, "score", _("The score"))
    if not 0 <= value <= 100:
        raise ValidationFailed(_("The score is a percentage from 0 to 100."), field="score")
    result = db.session.scalar(
        select(SurveyResult).where(SurveyResult.period == period, SurveyResult.service == service)
    )
    before = {"responses": result.responses, "score": result.score} if result else None
    if result is None:
        result = SurveyResult(period=period, service=service)
        db.session.add(result)
    result.responses, result.score, result.entered_by_id = int(count), value, actor.id
    trail.record(
        "survey.recorded",
        "survey",
        f"{period}/{service}"[:120],
        before=before,
        after={"responses": int(count), "score": value},
        user=actor,
    )
    db.session.flush()
    _refresh_survey_objectives(period)
    return result


def _refresh_survey_objectives(period: str) -> None:
    """Recompute the objectives fed by surveys for every period containing ``period``."""
    from qms.reviews import objectives

    start, end = periods.bounds(period)
    for objective in objectives.list_objectives():
        if objective.source != "surveys":
            continue
        for wanted in periods.periods_between(start, end, objective.frequency):
            objectives.refresh(objective, wanted)


def get_survey(ident: int) -> SurveyResult:
    """Return survey result ``ident``, or raise :class:`NotFound`."""
    result = db.session.get(SurveyResult, ident)
    if result is None:
        raise NotFound(_("There is no survey result %(id)s.", id=ident))
    return result


def list_surveys():
    return db.session.scalars(
        select(SurveyResult).order_by(SurveyResult.period.desc(), SurveyResult.service)
    ).all()


def surveys_within(start: date, end: date, overlap: bool = False) -> list[SurveyResult]:
    """Return the survey results whose period lies within [start, end] (or overlaps it)."""
    return [
        s
        for s in db.session.scalars(select(SurveyResult).order_by(SurveyResult.period))
        if periods.inside(s.period, start, end, overlap)
    ]


def satisfaction(start: date, end: date, overlap: bool = False) -> float | None:
    """Return the response-weighted satisfaction score of the surveys within [start, end]."""
    results = surveys_within(start, end, overlap)
    total = sum(s.responses for s in results)
    if not total:
        return None
    return round(sum(s.score * s.responses for s in results) / total, 1)


@dataclass
class ComplaintFigures:
    received: int
    answered: int
    answered_on_time: int
    open: int
    overdue: int
    satisfied: int
    dissatisfied: int
    ncs: list[str]
    by_channel: dict[str, int]


def complaint_figures(start: date, end: date, today: date | None = None) -> ComplaintFigures:
    """Count the complaints received in [start, end] and how they were handled."""
    today = today or clock.today()
    rows = db.session.scalars(
        select(Complaint).where(Complaint.received_on >= start, Complaint.received_on <= end)
    ).all()
    by_channel: dict[str, int] = {}
    for c in rows:
        by_channel[c.channel] = by_channel.get(c.channel, 0) + 1
    answered = [c for c in rows if c.response is not None]
    return ComplaintFigures(
        received=len(rows),
        answered=len(answered),
        answered_on_time=sum(1 for c in answered if c.responded_on <= c.response_due),
        open=len(rows) - len(answered),
        overdue=sum(1 for c in rows if c.response is None and c.response_due < today),
        satisfied=sum(1 for c in rows if c.satisfied is True),
        dissatisfied=sum(1 for c in rows if c.satisfied is False),
        ncs=sorted(c.nc_number for c in rows if c.nc_number),
        by_channel=by_channel,
    )

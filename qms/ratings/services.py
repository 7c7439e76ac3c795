"""The rules of citizens' ratings and their rectification, for pages, import and API alike.

- A rating is received once, by case number: the same rating sent again changes nothing
  (and is counted as unchanged); the same case number with different content is refused,
  because a submitted rating is evidence and never edited in place. A batch with one bad
  rating stores nothing.
- A poor rating (不满意 / 非常不满意) opens a rectification at once, due
  :func:`rectification_days` days (calendar or working, see :func:`due_from`) after it came
  in, with the window's department responsible.
- A second poor rating on the same item and window within :func:`recurrence_days` is a
  repeat: it escalates to a nonconformity, raised once for as long as it is open, whose
  number is kept on every rectification of the recurrence.
- A rectification runs open -> rectified -> followed_up -> closed, as
  :data:`~qms.ratings.models.TRANSITIONS` says; each step a trail event.

Reading what is sent is :mod:`qms.ratings.reading`, the settings :mod:`qms.ratings.settings`,
the steps :mod:`qms.ratings.steps`; this module re-exports them. Nothing here commits: the
outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail, uow, webhooks
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.ratings.models import POOR_LEVELS, Rating, Rectification
from qms.ratings.permissions import can_receive

# The package's sub-domains, re-exported: callers need only this module.
from qms.ratings.reading import Incoming, read, snapshot
from qms.ratings.settings import day_kind, due_from, rectification_days, recurrence_days
from qms.ratings.steps import STEP_TARGETS, close, follow_up, rectify, reopen, take_step
from qms.standards import catalogue
from qms.uow import transactional

__all__ = [
    "STEP_TARGETS",
    "Incoming",
    "close",
    "day_kind",
    "due_from",
    "follow_up",
    "read",
    "rectification_days",
    "rectify",
    "recurrence_days",
    "reopen",
    "snapshot",
    "take_step",
]

log = logging.getLogger(__name__)

#: The most ratings one request or file may carry.
MAX_BATCH = 5000


# -- receiving ratings ----------------------------------------------------------------------


@dataclass
class Receipt:
    """What a sending or an import did: the ratings stored, and the case numbers already
    held exactly so."""

    created: list[Rating] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def rectifications(self) -> list[Rectification]:
        return [r.rectification for r in self.created if r.rectification is not None]


def row_message(n: int, message: str) -> str:
    return _("Row %(n)d: %(message)s", n=n, message=message)


@transactional
def receive(actor: User, rows: list[tuple[int, dict]], origin: str = "api") -> Receipt:
    """Store the ratings of ``rows`` (``(row number, values)``), all or none.

    :raises ValidationFailed: a row is not a valid rating (``detail["rows"]`` lists each).
    :raises Conflict: a case number is held with different content.
    """
    if not can_receive(actor):
        raise PermissionDenied(_("Only the quality office may receive ratings."))
    if not rows:
        raise ValidationFailed(_("There are no ratings to receive."))
    if len(rows) > MAX_BATCH:
        raise ValidationFailed(
            _("Send at most %(n)d ratings at a time.", n=MAX_BATCH), field="ratings"
        )
    problems: list[str] = []
    conflicts: list[str] = []
    incoming: list[Incoming] = []
    seen: dict[str, dict] = {}
    unchanged: list[str] = []
    cases = [
        str(values.get("case_number") or "").strip()
        for _n, values in rows
        if isinstance(values, dict)
    ]
    held = {
        r.case_number: r
        for r in db.session.scalars(select(Rating).where(Rating.case_number.in_(cases)))
    }
    for n, values in rows:
        try:
            rating = read(values)
        except ValidationFailed as exc:
            problems.append(row_message(n, exc.message))
            continue
        wanted = rating.snapshot()
        earlier = seen.get(rating.case_number)
        if earlier is None and rating.case_number in held:
            earlier = snapshot(held[rating.case_number])
        if earlier is not None:
            if earlier == wanted:
                unchanged.append(rating.case_number)
                continue
            conflicts.append(
                row_message(
                    n,
                    _(
                        "case %(case)s was already received with different content; a "
                        "rating is never changed once received.",
                        case=rating.case_number,
                    ),
                )
            )
            continue
        seen[rating.case_number] = wanted
        incoming.append(rating)
    if problems or conflicts:
        error = ValidationFailed if problems else Conflict
        raise error(
            _(
                "Nothing was stored: %(n)d of the ratings cannot be received.",
                n=len(problems) + len(conflicts),
            ),
            field="ratings",
            detail={"rows": problems + conflicts},
        )
    receipt = Receipt(unchanged=unchanged)
    # Oldest first, so a repeat within the batch is seen as one.
    for item in sorted(incoming, key=lambda r: r.rated_at):
        receipt.created.append(_store(actor, item, origin))
    return receipt


def _store(actor: User, incoming: Incoming, origin: str) -> Rating:
    rating = Rating(
        case_number=incoming.case_number,
        item_id=incoming.item.id,
        window_id=incoming.window.id,
        department_id=incoming.window.department_id,
        staff_id=incoming.staff.id if incoming.staff else None,
        channel=incoming.channel,
        level=incoming.level,
        comment=incoming.comment,
        rated_at=incoming.rated_at,
        origin=origin,
        received_by_id=actor.id,
        **incoming.scores,
    )
    db.session.add(rating)
    db.session.flush()
    trail.record(
        "rating.received",
        "rating",
        rating.case_number,
        after={**incoming.snapshot(), "origin": origin},
        user=actor,
    )
    if rating.level in POOR_LEVELS:
        _open(actor, rating)
    return rating


def _open(actor: User, rating: Rating) -> Rectification:
    """Open the rectification of a poor rating, and escalate a repeat to an NC."""
    year = clock.today().year
    rectification = Rectification(
        number=f"RC-{year}-{next_number(f'RC-{year}'):04d}",
        rating_id=rating.id,
        department_id=rating.department_id,
        state="open",
        due_date=due_from(clock.today()),
        opened_at=utcnow(),
    )
    db.session.add(rectification)
    db.session.flush()
    db.session.refresh(rating, ["rectification"])
    trail.record(
        "rectification.opened",
        "rectification",
        rectification.number,
        after={
            "rating": rating.case_number,
            "level": rating.level,
            "department": rating.department.name if rating.department else None,
            "due_date": rectification.due_date.isoformat(),
        },
        user=actor,
    )
    _escalate_repeat(actor, rectification)
    webhooks.emit(
        "rating.poor",
        {
            "case_number": rating.case_number,
            "level": rating.level,
            "item": rating.item.code if rating.item else None,
            "window": rating.window.code if rating.window else None,
            "department": rating.department.name if rating.department else None,
            "rectification": rectification.number,
            "due_date": rectification.due_date.isoformat(),
            "nc": rectification.nc_number,
        },
    )
    uow.after_commit(lambda: poor_rating_opened(rectification))
    return rectification


def _earlier_poor(rating: Rating) -> list[Rectification]:
    """The rectifications of the other poor ratings of the same item and window, rated
    within :func:`recurrence_days` of this one (either side: the platform may send an
    older rating late)."""
    span = timedelta(days=recurrence_days())
    query = (
        select(Rectification)
        .join(Rating, Rectification.rating_id == Rating.id)
        .where(
            Rating.item_id == rating.item_id,
            Rating.window_id == rating.window_id,
            Rating.level.in_(POOR_LEVELS),
            Rating.rated_at >= rating.rated_at - span,
            Rating.rated_at <= rating.rated_at + span,
            Rating.id != rating.id,
        )
        .order_by(Rating.rated_at)
    )
    return list(db.session.scalars(query))


def _open_nc(number: str | None) -> bool:
    if not number:
        return False
    try:
        return improvement.get_nc(number).is_open
    except NotFound:
        return False


def _escalate_repeat(actor: User, rectification: Rectification) -> None:
    rating = rectification.rating
    earlier = _earlier_poor(rating)
    if not earlier:
        return
    # An open NC already raised for this recurrence takes the repeat in: no second NC.
    nc_number = next((r.nc_number for r in reversed(earlier) if _open_nc(r.nc_number)), None)
    if nc_number is None:
        cases = [r.rating.case_number for r in earlier] + [rating.case_number]
        numbers = [r.number for r in earlier] + [rectification.number]
        nc = improvement.raise_nc(
            actor,
            _(
                "Repeated poor ratings of %(item)s at window %(window)s",
                item=rating.item.code,
                window=rating.window.code,
            ),
            _(
                "Citizens' ratings: %(n)d poor ratings of the same item at the same window "
                "within %(days)d days (cases %(cases)s; rectifications %(numbers)s).",
                n=len(cases),
                days=recurrence_days(),
                cases=", ".join(cases),
                numbers=", ".join(numbers),
            ),
            "customer_complaint",
            department=rating.department.name if rating.department else None,
        )
        nc_number = nc.number
    for row in [*earlier, rectification]:
        if row.nc_number == nc_number or (row.nc_number and _open_nc(row.nc_number)):
            continue
        before = row.nc_number
        row.nc_number = nc_number
        trail.record(
            "rectification.escalated",
            "rectification",
            row.number,
            before={"nc": before},
            after={"nc": nc_number, "repeat": rating.case_number},
            user=actor,
        )
    db.session.flush()


def poor_rating_opened(rectification: Rectification) -> None:
    """Tell the responsible department of a poor rating's new rectification (after commit).

    For now by mail, the way the improvement domain mails (stepping aside when no server
    is configured); the home page's panel shows it in the application. A webhook to the
    service platform belongs here too.
    """
    from qms.improvement import mail

    smtp = mail.settings()
    if smtp is None or rectification.department_id is None:
        log.info("Not mailing the department of %s.", rectification.number)
        return
    people = db.session.scalars(
        select(User).where(User.department_id == rectification.department_id, User.active.is_(True))
    )
    for person in people:
        message = mail.compose(person, "ratings/mail/opened.txt", rectification=rectification)
        mail.deliver(message, smtp)


# -- reading -----------------------------------------------------------------------------------


def get_rating(case_number: str) -> Rating:
    """Return the rating of case ``case_number``. :raises NotFound: there is none."""
    rating = db.session.scalar(select(Rating).where(Rating.case_number == (case_number or "")))
    if rating is None:
        raise NotFound(_("There is no rating of case %(case)s.", case=case_number))
    return rating


def get_rectification(number: str) -> Rectification:
    """Return the rectification ``number``. :raises NotFound: there is none."""
    found = db.session.scalar(select(Rectification).where(Rectification.number == (number or "")))
    if found is None:
        raise NotFound(_("There is no rectification %(number)s.", number=number))
    return found


def bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Return the UTC moments that begin ``start`` and end ``end`` in the office's zone."""
    zone = clock.zone()
    low = datetime.combine(start, time(0), zone).astimezone(UTC) if start else None
    high = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC) if end else None
    return low, high


@dataclass
class RatingFilters:
    start: date | None = None
    end: date | None = None
    level: int | None = None
    item: str | None = None
    window: str | None = None
    department_id: int | None = None
    poor: bool = False


def list_ratings(filters: RatingFilters | None = None):
    """Return a select() over the ratings, newest first, with the given filters."""
    f = filters or RatingFilters()
    query = select(Rating).order_by(Rating.rated_at.desc(), Rating.id.desc())
    low, high = bounds(f.start, f.end)
    if low is not None:
        query = query.where(Rating.rated_at >= low)
    if high is not None:
        query = query.where(Rating.rated_at < high)
    if f.level:
        query = query.where(Rating.level == f.level)
    if f.poor:
        query = query.where(Rating.level.in_(POOR_LEVELS))
    if f.item:
        item = catalogue.item_by_code(f.item)
        query = query.where(Rating.item_id == (item.id if item else -1))
    if f.window:
        window = catalogue.window_by_code(f.window)
        query = query.where(Rating.window_id == (window.id if window else -1))
    if f.department_id:
        query = query.where(Rating.department_id == f.department_id)
    return query


RECTIFICATION_VIEWS = ("open", "overdue", "closed", "all")


def list_rectifications(view: str = "open", department_id: int | None = None):
    """Return a select() over the rectifications: open, overdue, closed or all, by due date."""
    query = select(Rectification).order_by(Rectification.due_date, Rectification.number)
    if view == "open":
        query = query.where(Rectification.state != "closed")
    elif view == "overdue":
        query = query.where(Rectification.state == "open", Rectification.due_date < clock.today())
    elif view == "closed":
        query = query.where(Rectification.state == "closed")
    if department_id:
        query = query.where(Rectification.department_id == department_id)
    return query


def is_overdue(rectification: Rectification, today: date | None = None) -> bool:
    """A rectification not yet put right after its due date is overdue."""
    return rectification.state == "open" and rectification.due_date < (today or clock.today())


def on_time(rectification: Rectification) -> bool | None:
    """Whether it was put right by its due date (None while open and not yet due)."""
    if rectification.rectified_at is not None:
        return clock.local(rectification.rectified_at).date() <= rectification.due_date
    if rectification.state != "open":
        return True
    return False if is_overdue(rectification) else None


def due_for(user: User) -> list[Rectification]:
    """The rectifications the user's department has to put right, soonest due first."""
    query = (
        select(Rectification)
        .where(Rectification.state == "open", Rectification.department_id == user.department_id)
        .order_by(Rectification.due_date, Rectification.number)
    )
    return list(db.session.scalars(query))


def awaiting_follow_up() -> list[Rectification]:
    """The rectifications put right whose citizen the quality office has yet to call back."""
    query = (
        select(Rectification)
        .where(Rectification.state == "rectified")
        .order_by(Rectification.rectified_at, Rectification.number)
    )
    return list(db.session.scalars(query))


def departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))

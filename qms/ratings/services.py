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

Nothing here commits: the outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail, uow
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.ratings import labels
from qms.ratings.models import (
    CHANNELS,
    FOLLOWUP_RESULTS,
    FOLLOWUP_WAYS,
    INDICATORS,
    LEVELS,
    POOR_LEVELS,
    TRANSITIONS,
    Rating,
    Rectification,
)
from qms.ratings.permissions import can_receive, can_step
from qms.standards import catalogue
from qms.text import LONG_TEXT, within
from qms.uow import transactional

log = logging.getLogger(__name__)

#: Defaults of the settings (each may be set in the config).
RECTIFICATION_DAYS = 5
DAY_KIND = "calendar"  # or "working": Monday to Friday
RECURRENCE_DAYS = 90
#: The most ratings one request or file may carry.
MAX_BATCH = 5000
CASE_LIMIT = 60


def rectification_days() -> int:
    """Days a poor rating's rectification is given (``QMS_RECTIFICATION_DAYS``)."""
    return int(current_app.config.get("QMS_RECTIFICATION_DAYS", RECTIFICATION_DAYS))


def day_kind() -> str:
    """Whether those days are "calendar" or "working" days (``QMS_RECTIFICATION_DAY_KIND``)."""
    kind = current_app.config.get("QMS_RECTIFICATION_DAY_KIND", DAY_KIND)
    return "working" if kind == "working" else "calendar"


def recurrence_days() -> int:
    """A second poor rating on an item and window this soon is a repeat
    (``QMS_RATING_RECURRENCE_DAYS``)."""
    return int(current_app.config.get("QMS_RATING_RECURRENCE_DAYS", RECURRENCE_DAYS))


def due_from(start: date, days: int | None = None, kind: str | None = None) -> date:
    """Return the day ``days`` calendar or working days (Monday–Friday) after ``start``."""
    days = rectification_days() if days is None else days
    if (kind or day_kind()) != "working":
        return start + timedelta(days=days)
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


# -- reading what is sent ---------------------------------------------------------------------

#: The names a level is also sent by, besides its number.
LEVEL_NAMES = {
    "非常满意": 5,
    "满意": 4,
    "基本满意": 3,
    "不满意": 2,
    "非常不满意": 1,
    "very satisfied": 5,
    "satisfied": 4,
    "basically satisfied": 3,
    "dissatisfied": 2,
    "very dissatisfied": 1,
}
CHANNEL_NAMES = {
    "窗口评价器": "device",
    "评价器": "device",
    "网上": "online",
    "网站": "online",
    "移动端": "mobile",
    "短信": "sms",
    "电话": "phone",
    "其他": "other",
}


def _score(value, field_name: str, required: bool) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value in LEVEL_NAMES or value.lower() in LEVEL_NAMES:
            return LEVEL_NAMES.get(value) or LEVEL_NAMES[value.lower()]
        if value.isdigit():
            value = int(value)
        elif value == "":
            value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
        if field_name == "level":
            raise ValidationFailed(
                _("The level is a whole number from 1 (very dissatisfied) to 5 (very satisfied)."),
                field="level",
            )
        raise ValidationFailed(
            _("The score %(name)s is a whole number from 1 to 5.", name=field_name),
            field=field_name,
        )
    return value


def _channel(value) -> str:
    value = str(value or "").strip()
    channel = CHANNEL_NAMES.get(value, value.lower())
    if channel not in CHANNELS:
        raise ValidationFailed(
            _(
                "The channel %(value)s is not known; use one of %(known)s.",
                value=value or "—",
                known=", ".join(CHANNELS),
            ),
            field="channel",
        )
    return channel


def _moment(value) -> datetime:
    """Read the moment of a rating: an aware or office-time datetime, or ISO 8601 text."""
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(12))
    if not isinstance(value, datetime):
        raise ValidationFailed(
            _("Give the moment of the rating as a date and time, e.g. 2026-03-01 10:30."),
            field="rated_at",
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    value = value.astimezone(UTC).replace(microsecond=0)
    if value > clock.now() + timedelta(minutes=5):
        raise ValidationFailed(_("A rating cannot be dated in the future."), field="rated_at")
    return value


def _staff(value) -> User | None:
    name = str(value or "").strip()
    if not name:
        return None
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        raise ValidationFailed(_("There is no staff member %(name)s.", name=name), field="staff")
    return user


@dataclass
class Incoming:
    """One rating read and checked, not yet stored."""

    case_number: str
    item: object
    window: object
    staff: User | None
    channel: str
    level: int
    scores: dict[str, int | None]
    comment: str
    rated_at: datetime

    def snapshot(self) -> dict:
        return {
            "case_number": self.case_number,
            "item": self.item.code,
            "window": self.window.code,
            "staff": self.staff.username if self.staff else None,
            "channel": self.channel,
            "level": self.level,
            **self.scores,
            "comment": self.comment,
            "rated_at": self.rated_at.isoformat(),
        }


def snapshot(rating: Rating) -> dict:
    """What a rating says, in the form two sendings of it are compared."""
    return {
        "case_number": rating.case_number,
        "item": rating.item.code,
        "window": rating.window.code,
        "staff": rating.staff.username if rating.staff else None,
        "channel": rating.channel,
        "level": rating.level,
        **rating.scores,
        "comment": rating.comment,
        "rated_at": rating.rated_at.astimezone(UTC).replace(microsecond=0).isoformat(),
    }


def read(row: dict) -> Incoming:
    """Check one rating as sent (API keys, or the import's columns) and return it."""
    if not isinstance(row, dict):
        raise ValidationFailed(_("A rating is a set of named values."))
    case = str(row.get("case_number") or "").strip()
    if not case:
        raise ValidationFailed(_("The case number is required."), field="case_number")
    if len(case) > CASE_LIMIT:
        raise ValidationFailed(
            _("A case number has at most %(n)d characters.", n=CASE_LIMIT), field="case_number"
        )
    item_code = str(row.get("item") or "").strip()
    item = catalogue.item_by_code(item_code) if item_code else None
    if item is None:
        raise ValidationFailed(
            _("There is no service item %(code)s.", code=item_code or "—"), field="item"
        )
    window_code = str(row.get("window") or "").strip()
    window = catalogue.window_by_code(window_code) if window_code else None
    if window is None:
        raise ValidationFailed(
            _("There is no service window %(code)s.", code=window_code or "—"), field="window"
        )
    comment = within(str(row.get("comment") or "").strip(), LONG_TEXT, "comment")
    return Incoming(
        case_number=case,
        item=item,
        window=window,
        staff=_staff(row.get("staff")),
        channel=_channel(row.get("channel")),
        level=_score(row.get("level"), "level", required=True),
        scores={name: _score(row.get(name), name, required=False) for name in INDICATORS},
        comment=comment,
        rated_at=_moment(row.get("rated_at")),
    )


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


# -- rectification steps ----------------------------------------------------------------------

STEP_TARGETS = {
    "rectify": "rectified",
    "follow_up": "followed_up",
    "close": "closed",
    "reopen": "open",
}


def _guard(actor: User, rectification: Rectification, step: str) -> str:
    target = STEP_TARGETS.get(step)
    if target is None:
        raise ValidationFailed(_("Choose a step."), field="step")
    if (rectification.state, target) not in TRANSITIONS:
        raise Conflict(
            _(
                "%(number)s is %(state)s: it cannot be %(target)s now.",
                number=rectification.number,
                state=labels.state_label(rectification.state),
                target=labels.state_label(target),
            ),
            field="step",
        )
    if not can_step(actor, rectification, step):
        if TRANSITIONS[(rectification.state, target)] == "department":
            raise PermissionDenied(
                _("Only the responsible department or the quality office may do this.")
            )
        raise PermissionDenied(_("Only the quality office may do this."))
    return target


def _text(value, field_name: str, message: str) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value:
        raise ValidationFailed(message, field=field_name)
    return within(value, LONG_TEXT, field_name)


def _move(actor: User, rectification: Rectification, target: str, after: dict) -> None:
    before = rectification.state
    rectification.state = target
    db.session.flush()
    trail.record(
        f"rectification.{target}",
        "rectification",
        rectification.number,
        before={"state": before},
        after={"state": target, **after},
        user=actor,
    )


@transactional
def rectify(actor: User, rectification: Rectification, finding: str, fix: str) -> Rectification:
    """Record what looking into the rating found (调查核实) and how it was put right (整改措施)."""
    target = _guard(actor, rectification, "rectify")
    finding = _text(finding, "finding", _("Say what looking into the rating found."))
    fix = _text(fix, "fix", _("Say how it was put right."))
    rectification.finding, rectification.fix = finding, fix
    rectification.rectified_at = utcnow()
    rectification.rectified_by_id = actor.id
    _move(actor, rectification, target, {"finding": finding, "fix": fix})
    return rectification


@transactional
def follow_up(
    actor: User,
    rectification: Rectification,
    on: date | None,
    way: str,
    result: str,
    note: str = "",
) -> Rectification:
    """Record the follow-up with the citizen (回访): when, how, and whether they are content."""
    target = _guard(actor, rectification, "follow_up")
    on = on or clock.today()
    if not isinstance(on, date):
        raise ValidationFailed(_("Give the date of the follow-up."), field="on")
    if on > clock.today():
        raise ValidationFailed(_("A follow-up cannot be dated in the future."), field="on")
    if on < clock.local(rectification.rectified_at).date():
        raise ValidationFailed(_("The follow-up comes after the rating was put right."), field="on")
    if way not in FOLLOWUP_WAYS:
        raise ValidationFailed(_("Say how the citizen was reached."), field="way")
    if result not in FOLLOWUP_RESULTS:
        raise ValidationFailed(_("Give the citizen's answer."), field="result")
    note = within((note or "").strip() if isinstance(note, str) else "", LONG_TEXT, "note")
    rectification.followup_on, rectification.followup_way = on, way
    rectification.followup_result, rectification.followup_note = result, note
    rectification.followed_up_by_id = actor.id
    _move(
        actor,
        rectification,
        target,
        {"on": on.isoformat(), "way": way, "result": result, "note": note},
    )
    return rectification


@transactional
def close(actor: User, rectification: Rectification) -> Rectification:
    """Close a rectification whose follow-up found the citizen content."""
    target = _guard(actor, rectification, "close")
    if rectification.followup_result == "not_satisfied":
        raise Conflict(
            _("The citizen is not satisfied: put it right again instead of closing."),
            field="step",
        )
    rectification.closed_at = utcnow()
    rectification.closed_by_id = actor.id
    _move(actor, rectification, target, {})
    return rectification


@transactional
def reopen(actor: User, rectification: Rectification, reason: str) -> Rectification:
    """Send a rectification back to be put right again, with a new deadline."""
    target = _guard(actor, rectification, "reopen")
    reason = _text(reason, "reason", _("Give the reason."))
    before_due = rectification.due_date
    rectification.due_date = due_from(clock.today())
    rectification.rectified_at = None
    _move(
        actor,
        rectification,
        target,
        {
            "reason": reason,
            "due_date": rectification.due_date.isoformat(),
            "previous_due_date": before_due.isoformat(),
        },
    )
    return rectification


def take_step(actor: User, rectification: Rectification, step: str, **values) -> Rectification:
    """Take ``step`` with its values (the pages' and the API's one entry)."""
    if step == "rectify":
        return rectify(actor, rectification, values.get("finding"), values.get("fix"))
    if step == "follow_up":
        return follow_up(
            actor,
            rectification,
            values.get("on"),
            values.get("way"),
            values.get("result"),
            values.get("note") or "",
        )
    if step == "close":
        return close(actor, rectification)
    if step == "reopen":
        return reopen(actor, rectification, values.get("reason"))
    raise ValidationFailed(_("Choose a step."), field="step")


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

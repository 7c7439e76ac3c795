"""Management reviews: plan, prepare (compile inputs), hold (freeze), decide, sign minutes.

Objectives live in :mod:`qms.reviews.objectives` and feedback in :mod:`qms.reviews.feedback`;
both are part of this domain's public services and are re-exported here.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import User
from qms.auth.services import verify_password
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.reviews import inputs as review_inputs
from qms.reviews.feedback import (  # noqa: F401  (public services of this domain)
    get_complaint,
    raise_nc,
    record_survey,
    register_complaint,
    respond,
)
from qms.reviews.labels import decision_label, state_label  # noqa: F401  (re-exported)
from qms.reviews.models import DECISION_KINDS, Decision, Review, ReviewAttendee, ReviewTopic
from qms.reviews.objectives import (  # noqa: F401
    create_objective,
    get_objective,
    import_csv,
    record_measurement,
    update_objective,
)
from qms.reviews.permissions import (  # noqa: F401  (re-exported)
    CHAIR_ROLE,
    MANAGER_ROLES,
    RULES,
    can_approve_minutes,
    can_chair,
    can_decide,
    can_hold,
    can_measure,
    can_plan_review,
    can_prepare,
    can_record_surveys,
    can_respond,
    can_set_objectives,
    can_view_dashboard,
    is_manager,
)
from qms.uow import transactional


def _require_manager(actor: User) -> None:
    """Refuse anyone but the quality office: the person, whatever the review's state."""
    if not can_plan_review(actor):
        raise PermissionDenied(_("Only the quality office (approver) or an administrator may."))


def get_review(number: str) -> Review:
    review = db.session.scalar(select(Review).where(Review.number == number))
    if review is None:
        raise NotFound(_("There is no management review %(number)s.", number=number))
    return review


def list_reviews() -> list[Review]:
    return list(db.session.scalars(select(Review).order_by(Review.planned_on.desc())))


def _users(usernames) -> list[User]:
    names = [n.strip() for n in usernames if n and n.strip()]
    found = list(db.session.scalars(select(User).where(User.username.in_(names))))
    missing = sorted(set(names) - {u.username for u in found})
    if missing:
        raise ValidationFailed(
            _("There is no user %(name)s.", name=", ".join(missing)), field="attendees"
        )
    return found


def _chair(username: str | None) -> User:
    chair = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if chair is None or not can_chair(chair):
        raise ValidationFailed(
            _("The chair is a management representative (approver)."), field="chair"
        )
    return chair


def previous_review(before: date) -> Review | None:
    return db.session.scalar(
        select(Review).where(Review.planned_on < before).order_by(Review.planned_on.desc())
    )


@transactional
def plan_review(
    actor: User,
    title: str,
    planned_on: date | None,
    chair: str,
    attendees,
    period_start: date | None = None,
    period_end: date | None = None,
) -> Review:
    """Plan a review meeting; the period covered runs from the previous review by default."""
    _require_manager(actor)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(_("Give the review a title."), field="title")
    if planned_on is None:
        raise ValidationFailed(_("Give the date of the meeting."), field="planned_on")
    chair_user = _chair(chair)
    people = _users(attendees)
    if period_start is None:
        earlier = previous_review(planned_on)
        period_start = earlier.planned_on if earlier else date(planned_on.year, 1, 1)
    period_end = period_end or planned_on
    if period_start > period_end:
        raise ValidationFailed(
            _("The period covered must start before it ends."), field="period_start"
        )
    year = planned_on.year
    review = Review(
        number=f"MR-{year}-{next_number(f'MR-{year}'):02d}",
        title=title[:300],
        planned_on=planned_on,
        period_start=period_start,
        period_end=period_end,
        chair=chair_user,
        attendee_rows=[ReviewAttendee(user=u) for u in people],
        notes={},
        created_by_id=actor.id,
    )
    db.session.add(review)
    trail.record(
        "review.planned",
        "review",
        review.number,
        after={
            "title": review.title,
            "planned_on": planned_on,
            "chair": chair_user.username,
            "attendees": sorted(u.username for u in people),
            "period": [period_start, period_end],
        },
        user=actor,
    )
    return review


def _require_open(actor: User, review: Review) -> None:
    _require_manager(actor)
    if not can_prepare(actor, review):
        raise Conflict(_("%(number)s has been held: its inputs are frozen.", number=review.number))


@transactional
def save_notes(actor: User, review: Review, notes: dict[str, str]) -> Review:
    """Save the inputs entered as text, by §9.3.2 section key."""
    _require_open(actor, review)
    cleaned = {
        key: (notes.get(key) or "").strip()
        for key in review_inputs.SECTION_KEYS
        if (notes.get(key) or "").strip()
    }
    before = dict(review.notes or {})
    review.notes = cleaned
    if review.inputs is not None:
        # Keep the compiled copy in step with the texts until the meeting freezes it.
        inputs = dict(review.inputs)
        inputs["sections"] = [
            s | {"text": cleaned.get(s["key"], "")} for s in review.inputs["sections"]
        ]
        review.inputs = inputs
    trail.record("review.notes", "review", review.number, before=before, after=cleaned, user=actor)
    return review


@transactional
def prepare(actor: User, review: Review) -> Review:
    """Compile the §9.3.2 inputs from the system; may be repeated until the meeting is held."""
    _require_open(actor, review)
    review.inputs = review_inputs.compile_inputs(review)
    review.prepared_at = utcnow()
    review.state = "prepared"
    trail.record(
        "review.prepared",
        "review",
        review.number,
        after={"compiled_at": review.inputs["compiled_at"]},
        user=actor,
    )
    return review


@transactional
def hold(actor: User, review: Review, held_on: date | None = None, discussion: str = "") -> Review:
    """Record that the meeting took place: its inputs are frozen from now on."""
    _require_open(actor, review)
    if not can_hold(actor, review):
        raise Conflict(_("Prepare the inputs before holding the review."))
    held_on = held_on or clock.today()
    if held_on > clock.today():
        raise ValidationFailed(_("A meeting cannot be held in the future."), field="held_on")
    review.state = "held"
    review.held_on = held_on
    review.discussion = (discussion or "").strip()
    for kind, key in sorted(review_inputs.topics(review.inputs)):
        db.session.add(ReviewTopic(review_id=review.id, kind=kind, key=key[:60]))
    trail.record(
        "review.held",
        "review",
        review.number,
        after={
            "held_on": held_on,
            "inputs_sha256": inputs_digest(review),
        },
        user=actor,
    )
    return review


def inputs_digest(review: Review) -> str:
    payload = json.dumps(review.inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _require_held(actor: User, review: Review) -> None:
    _require_manager(actor)
    if not can_decide(actor, review):
        raise Conflict(
            _("Decisions are recorded at a held review whose minutes are not yet approved.")
        )


@transactional
def add_decision(actor: User, review: Review, kind: str, text: str) -> Decision:
    """Record an output of the review (§9.3.3); its actions are created with create_action."""
    _require_held(actor, review)
    if kind not in DECISION_KINDS:
        raise ValidationFailed(_("Choose what the decision is about."), field="kind")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("Write the decision."), field="text")
    decision = Decision(
        review_id=review.id, kind=kind, text=text, actions=[], created_by_id=actor.id
    )
    db.session.add(decision)
    db.session.flush()
    trail.record(
        "review.decision",
        "review",
        review.number,
        after={"decision": decision.id, "kind": kind, "text": text},
        user=actor,
    )
    return decision


@transactional
def create_action(
    actor: User,
    decision: Decision,
    action_type: str,
    title: str,
    owner: str,
    due_date: date | None,
) -> str:
    """Create an action for a decision through the improvement domain; returns its number."""
    review = db.session.get(Review, decision.review_id)
    _require_held(actor, review)
    action = improvement.create_action(
        actor,
        action_type,
        title,
        owner,
        due_date,
        origin="management_review",
        origin_ref=review.number,
        description=_(
            "Decided at management review %(number)s: %(text)s",
            number=review.number,
            text=decision.text,
        ),
    )
    number = action.number
    decision.actions = [*decision.actions, number]
    db.session.add(ReviewTopic(review_id=review.id, kind="action", key=number))
    trail.record(
        "review.action",
        "review",
        review.number,
        after={"decision": decision.id, "action": number},
        user=actor,
    )
    return number


@dataclass
class PlannedAction:
    """An action decided together with its decision: what, who and by when."""

    action_type: str
    title: str
    owner: str
    due_date: date | None


@transactional
def decide(
    actor: User, review: Review, kind: str, text: str, action: PlannedAction | None = None
) -> tuple[Decision, str | None]:
    """Record a decision and, when one is planned, its action: both, or neither when refused.

    Returns the decision and the action's number (None without an action).
    """
    decision = add_decision(actor, review, kind, text)
    if action is None:
        return decision, None
    number = create_action(
        actor, decision, action.action_type, action.title, action.owner, action.due_date
    )
    return decision, number


def get_decision(review: Review, decision_id: int) -> Decision:
    decision = db.session.get(Decision, decision_id)
    if decision is None or decision.review_id != review.id:
        raise NotFound(_("There is no such decision."))
    return decision


@transactional
def approve_minutes(actor: User, review: Review, password: str) -> Review:
    """The chair approves the minutes with their password; they are kept as a record."""
    from qms.reviews import minutes

    if actor.id != review.chair_id:
        raise PermissionDenied(_("Only the chair of the review approves its minutes."))
    if not can_approve_minutes(actor, review):
        raise Conflict(
            _("Decisions are recorded at a held review whose minutes are not yet approved.")
        )
    if not verify_password(actor, password or ""):
        raise ValidationFailed(_("The password is not correct."), field="password")
    review.approved_at = utcnow()
    review.minutes_lang = str(get_locale() or "en")
    review.minutes = minutes.markdown(review)
    review.minutes_sha256 = hashlib.sha256(review.minutes.encode()).hexdigest()
    review.state = "approved"
    trail.record(
        "review.minutes_approved",
        "review",
        review.number,
        after={"sha256": review.minutes_sha256, "meaning": "approved"},
        user=actor,
    )
    return review


def reviews_discussing(kind: str, key: str) -> list[Review]:
    """Return the held reviews whose inputs or decisions mention the NC/action/audit ``key``."""
    ids = select(ReviewTopic.review_id).where(ReviewTopic.kind == kind, ReviewTopic.key == key)
    return list(
        db.session.scalars(select(Review).where(Review.id.in_(ids)).order_by(Review.planned_on))
    )

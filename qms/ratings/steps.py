"""The steps of a rectification: put right, follow up, close, send back (整改, 回访, 办结).

Each moves the state as :data:`~qms.ratings.models.TRANSITIONS` allows, by whom
:mod:`qms.ratings.permissions` allows, and leaves a trail event. Nothing here commits.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from qms import clock, trail
from qms.auth.models import User
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.ratings import labels
from qms.ratings.models import FOLLOWUP_RESULTS, FOLLOWUP_WAYS, TRANSITIONS, Rectification
from qms.ratings.permissions import can_step
from qms.ratings.settings import due_from
from qms.text import LONG_TEXT, within
from qms.uow import transactional

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

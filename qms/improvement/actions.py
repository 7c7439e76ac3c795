"""Actions: correction, corrective, preventive and improvement, with or without an NC.

An action's owner works it (planned -> in_progress -> done); someone who did not carry it
out checks its effectiveness (verified_effective or not_effective, which sends it back to
work). An action may ask for a document change; it is done once a revision made for that
change request has been released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import User
from qms.auth.services import active_user_named
from qms.database import next_number
from qms.documents import services as documents_services
from qms.documents.redline import redline
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import mail
from qms.improvement.labels import action_state_label, nc_state_label
from qms.improvement.models import (
    ACTION_ORIGINS,
    ACTION_STATES,
    ACTION_TYPES,
    OPEN_ACTION_STATES,
    Action,
)
from qms.improvement.ncs import get_nc
from qms.improvement.permissions import (
    ACTION_PLANNING_STATES,
    ACTION_TRANSITIONS,
    PLANNING_STATES,
    can_plan_actions,
    can_verify_effectiveness,
    can_work_action,
    is_planner,
)
from qms.improvement.validation import choice, due, text, transition_rule
from qms.models import utcnow
from qms.uow import transactional


def get_action(key: str | int) -> Action:
    """Return the action by id or number (ACT-2026-0001), or raise :class:`NotFound`."""
    key = str(key).strip()
    stmt = select(Action).where(Action.id == int(key) if key.isdigit() else Action.number == key)
    action = db.session.scalar(stmt)
    if action is None:
        raise NotFound(_("There is no action %(key)s.", key=key))
    return action


@transactional
def create_action(
    actor: User,
    action_type: str,
    title: str,
    owner: str | None,
    due_date: date | None,
    nonconformity: str | None = None,
    description: str = "",
    effectiveness_criteria: str | None = None,
    check_date: date | None = None,
    origin: str | None = None,
    origin_ref: str | None = None,
) -> Action:
    """Plan an action, for an NC (its responsible person or the quality office) or on its own.

    An action without an NC comes from a risk, a trend, a review, an audit or a suggestion,
    and anyone may propose one.
    """
    action_type = choice(action_type, ACTION_TYPES, "type")
    title = text(title, "title", _("A title is required."), 300)
    owner_user = active_user_named(owner, "owner")
    if owner_user is None:
        raise ValidationFailed(_("Name the owner of the action."), field="owner")
    due_date = due(due_date, required=True)
    nc = None
    if nonconformity:
        nc = get_nc(nonconformity.strip())
        if nc.state not in PLANNING_STATES:
            raise Conflict(
                _(
                    "%(number)s is %(state)s: actions are planned before the plan is accepted.",
                    number=nc.number,
                    state=nc_state_label(nc.state),
                ),
                field="nonconformity",
            )
        if not can_plan_actions(actor, nc):
            raise PermissionDenied(
                _(
                    "Only the person responsible for %(number)s or the quality office plans "
                    "its actions.",
                    number=nc.number,
                )
            )
        origin = "nonconformity"
    else:
        if action_type == "correction":
            raise ValidationFailed(
                _("A correction corrects a nonconformity: name it."), field="nonconformity"
            )
        origin = choice(origin or "suggestion", ACTION_ORIGINS[1:], "origin")
    if check_date is not None and check_date < due_date:
        raise ValidationFailed(
            _("Effectiveness is checked after the due date."), field="check_date"
        )
    year = clock.today().year
    action = Action(
        number=f"ACT-{year}-{next_number(f'ACT-{year}'):04d}",
        nonconformity=nc,
        action_type=action_type,
        origin=origin,
        origin_ref=(origin_ref or "").strip()[:120] or None,
        title=title,
        description=(description or "").strip(),
        owner=owner_user,
        due_date=due_date,
        effectiveness_criteria=(effectiveness_criteria or "").strip() or None,
        check_date=check_date,
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    details = {
        "type": action_type,
        "title": title,
        "owner": owner_user.username,
        "due_date": due_date,
        "nonconformity": nc.number if nc else None,
        "origin": origin,
    }
    trail.record("action.created", "action", action.number, after=details, user=actor)
    if nc is not None:
        trail.record(
            "nc.action_added",
            "nonconformity",
            nc.number,
            after={"action": action.number},
            user=actor,
        )
    mail.send_assignment(owner_user, action)
    return action


def _require_plannable(actor: User, action: Action, refusal: str) -> None:
    """Refuse whoever is no planner of the action, then an action whose plan is settled."""
    if not is_planner(actor, action):
        raise PermissionDenied(
            _("Only the owner, the person responsible or the quality office changes this action.")
        )
    if action.state not in ACTION_PLANNING_STATES:
        raise Conflict(refusal)


@transactional
def update_action_plan(
    actor: User, action: Action, effectiveness_criteria: str | None, check_date: date | None
) -> Action:
    """Set how and when effectiveness will be judged, while the action is not yet checked."""
    _require_plannable(
        actor,
        action,
        _(
            "The action is %(state)s; its plan is settled.",
            state=action_state_label(action.state),
        ),
    )
    if check_date is not None and check_date < action.due_date:
        raise ValidationFailed(
            _("Effectiveness is checked after the due date."), field="check_date"
        )
    before = {"criteria": action.effectiveness_criteria, "check_date": action.check_date}
    action.effectiveness_criteria = (effectiveness_criteria or "").strip() or None
    action.check_date = check_date
    trail.record(
        "action.plan_updated",
        "action",
        action.number,
        before=before,
        after={"criteria": action.effectiveness_criteria, "check_date": check_date},
        user=actor,
    )
    return action


@transactional
def action_transition(
    actor: User, action: Action, to: str, note: str | None = None, result: str | None = None
) -> Action:
    """Move an action on: its owner works it, someone other than the doer checks it.

    ``done`` needs ``note`` (what was done) and, when the action asked for a document
    change, the release of the revision implementing it; a check needs ``result``.
    """
    who = transition_rule(
        ACTION_TRANSITIONS, ACTION_STATES, action.number, action.state, to, action_state_label
    )
    if who == "owner" and not can_work_action(actor, action):
        raise PermissionDenied(
            _(
                "Only the owner of %(number)s (%(name)s) works it.",
                number=action.number,
                name=action.owner.display_name,
            )
        )
    after: dict = {"state": to}
    nc = action.nonconformity
    # A correction may be made at once; other actions wait until the plan is accepted.
    plan_pending = nc is not None and nc.state not in ("implementation", "effectiveness_check")
    if to in ("in_progress", "done") and plan_pending and action.action_type != "correction":
        raise Conflict(
            _(
                "The plan of %(number)s is not accepted yet; the action cannot start.",
                number=nc.number,
            )
        )
    if to == "done":
        note = text(note, "note", _("Say what was done."))
        if action.change_request:
            release = action_release(action)
            if release is None:
                raise Conflict(
                    _(
                        "Change request %(cr)s is not implemented yet: no revision made for it "
                        "has been released.",
                        cr=action.change_request,
                    ),
                    field="change_request",
                )
            action.released_document = release.code
            action.released_revision = release.revision
            action.released_commit = release.commit
            action.released_on = release.effective_date
            after["release"] = f"{release.code}/{release.revision} {release.commit}"
        action.done_note, action.done_by_id, action.done_at = note, actor.id, utcnow()
        after["note"] = note
    if who == "checker":
        if actor.id in (action.done_by_id, action.owner_id):
            raise PermissionDenied(
                _(
                    "You carried out %(number)s; someone else must check its effectiveness.",
                    number=action.number,
                )
            )
        if not can_verify_effectiveness(actor, action):
            raise PermissionDenied(
                _(
                    "Effectiveness is checked by the quality office, an auditor or the person "
                    "responsible for the nonconformity."
                )
            )
        result = text(result, "result", _("Record the result of the check."))
        action.check_result, action.checked_by_id, action.checked_at = result, actor.id, utcnow()
        after["result"] = result
    if to == "in_progress" and action.state == "not_effective":
        action.done_by_id = action.done_at = None
    before = {"state": action.state}
    action.state = to
    trail.record(
        "action.transition", "action", action.number, before=before, after=after, user=actor
    )
    return action


# -- document changes from actions ---------------------------------------------------


@dataclass
class Release:
    """A released revision implementing an action's change request."""

    code: str
    revision: str
    commit: str
    effective_date: date | None
    status: str
    previous: str | None
    summary: str = ""
    words_added: int | None = None
    words_removed: int | None = None


@transactional
def request_document_change(actor: User, action: Action, documents: list[str], reason: str) -> str:
    """Raise a document change request for this action and link it; returns its number."""
    _require_plannable(
        actor, action, _("Only a planned or running action asks for a document change.")
    )
    if action.change_request:
        raise Conflict(
            _(
                "%(number)s already asked for change request %(cr)s.",
                number=action.number,
                cr=action.change_request,
            )
        )
    reason = text(reason, "reason", _("Give the reason for the change."))
    codes = [c.strip() for c in documents if c and c.strip()]
    # The request joins this unit of work: it is never kept without its link to the action.
    cr = documents_services.raise_change_request(
        actor, f"{action.number}: {action.title}"[:300], reason, codes, source_ref=action.number
    )
    action.change_request = cr.number
    trail.record(
        "action.change_requested",
        "action",
        action.number,
        after={"change_request": cr.number, "documents": codes},
        user=actor,
    )
    return cr.number


def action_release(action: Action, with_redline: bool = False) -> Release | None:
    """Return the released revision implementing the action's change request, if any."""
    if not action.change_request:
        return None
    for rev in documents_services.revisions_for_change_request(action.change_request):
        if rev.status not in ("effective", "superseded", "obsolete") or not rev.release_commit:
            continue
        doc = rev.document
        earlier = [r for r in doc.revisions if r.id < rev.id and r.release_commit is not None]
        previous = earlier[-1].label if earlier else None
        release = Release(
            code=doc.code,
            revision=rev.label,
            commit=rev.release_commit,
            effective_date=rev.effective_date,
            status=rev.status,
            previous=previous,
            summary=rev.summary,
        )
        if with_redline and previous:
            old = documents_services.get_revision(doc, previous)
            result = redline(
                documents_services.revision_content(old), documents_services.revision_content(rev)
            )
            release.words_added, release.words_removed = result.words_added, result.words_removed
        return release
    return None


# -- lists -----------------------------------------------------------------------------


@dataclass
class ActionFilters:
    state: str | None = None
    action_type: str | None = None
    owner_id: int | None = None
    overdue: bool = False
    open_only: bool = False
    without_nc: bool = False


def actions_from(origin: str, ref: str) -> list[Action]:
    """Return the actions raised from ``origin`` ``ref`` (a risk's number, say), oldest first."""
    stmt = select(Action).where(Action.origin == origin, Action.origin_ref == ref)
    return list(db.session.scalars(stmt.order_by(Action.id)))


def list_actions(filters: ActionFilters | None = None):
    """Return a select() over actions with the given filters, soonest due first."""
    f = filters or ActionFilters()
    stmt = select(Action)
    if f.state:
        stmt = stmt.where(Action.state == f.state)
    if f.action_type:
        stmt = stmt.where(Action.action_type == f.action_type)
    if f.owner_id:
        stmt = stmt.where(Action.owner_id == f.owner_id)
    if f.open_only or f.overdue:
        stmt = stmt.where(Action.state.in_(OPEN_ACTION_STATES))
    if f.overdue:
        stmt = stmt.where(Action.due_date < clock.today())
    if f.without_nc:
        stmt = stmt.where(Action.nonconformity_id.is_(None))
    return stmt.order_by(Action.due_date, Action.id)

"""Who may do what with nonconformities and actions: one ``can_<verb>`` per rule.

The services' guards, the pages and the templates all ask these, so a rule is stated once.
The responsible person works an NC; the quality office (users with the approver role)
assigns it, accepts its analysis and plan, rejects or closes it; whoever judges
effectiveness did not carry out the actions.
"""

from __future__ import annotations

from flask_babel import gettext as _

from qms.auth.models import User
from qms.errors import Conflict, PermissionDenied
from qms.improvement.labels import nc_state_label
from qms.improvement.models import OPEN_ACTION_STATES, Action, Nonconformity

QUALITY_OFFICE = "approver"
# Who may judge whether an action worked, besides the NC's responsible person.
CHECKER_ROLES = ("approver", "auditor")
# States in which the actions of an NC may still be planned.
PLANNING_STATES = ("reported", "containment", "analysis", "action_plan")
# States in which an action's plan (criteria, check date, document change) may change.
ACTION_PLANNING_STATES = ("planned", "in_progress")

# Which target state may follow which, and who moves it.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("reported", "containment"): "responsible",
    ("containment", "analysis"): "responsible",
    ("analysis", "action_plan"): "office",
    ("action_plan", "implementation"): "office",
    ("implementation", "effectiveness_check"): "responsible",
    ("effectiveness_check", "closed"): "checker",
    ("effectiveness_check", "analysis"): "checker",
    ("reported", "rejected"): "office",
    ("containment", "rejected"): "office",
    ("analysis", "rejected"): "office",
}
ACTION_TRANSITIONS: dict[tuple[str, str], str] = {
    ("planned", "in_progress"): "owner",
    ("not_effective", "in_progress"): "owner",
    ("planned", "done"): "owner",
    ("in_progress", "done"): "owner",
    ("done", "verified_effective"): "checker",
    ("done", "not_effective"): "checker",
}


def in_quality_office(user: User) -> bool:
    return user.has_role(QUALITY_OFFICE)


def is_checker(user: User) -> bool:
    """Return whether ``user`` judges effectiveness by role (not only as a responsible person)."""
    return user.has_role(*CHECKER_ROLES)


def doers(nc: Nonconformity) -> set[int]:
    """Return the ids of everyone who carried out one of the NC's actions."""
    return {a.done_by_id for a in nc.actions if a.done_by_id} | {
        a.owner_id for a in nc.actions if a.state != "planned"
    }


# -- nonconformities -------------------------------------------------------------------


def can_assign(user: User, nc: Nonconformity) -> bool:
    """Name the responsible person and due date of an open NC: the quality office."""
    return nc.is_open and in_quality_office(user)


def can_work(user: User, nc: Nonconformity) -> bool:
    """Take the responsible person's steps (containment, analysis, asking for the check)."""
    return nc.responsible_id is not None and user.id == nc.responsible_id


def can_analyse(user: User, nc: Nonconformity) -> bool:
    """Write the root-cause analysis: the responsible person, in the analysis step."""
    return nc.state == "analysis" and can_work(user, nc)


def can_accept(user: User, nc: Nonconformity) -> bool:
    """Accept the analysis or the plan: the quality office (not its author, checked there)."""
    return in_quality_office(user)


def can_reject(user: User, nc: Nonconformity) -> bool:
    """Reject a report as unfounded: the quality office."""
    return in_quality_office(user)


def can_close(user: User, nc: Nonconformity) -> bool:
    """Judge the NC's effectiveness, closing or reopening it: the office, not a doer."""
    return in_quality_office(user) and user.id not in doers(nc)


def can_add_evidence(user: User, nc: Nonconformity) -> bool:
    """Add evidence or a document concerned: anyone, while the NC is open."""
    return nc.is_open


def can_plan_actions(user: User, nc: Nonconformity) -> bool:
    """Plan the NC's actions: its responsible person or the quality office, before the plan
    is accepted."""
    return nc.state in PLANNING_STATES and (user.id == nc.responsible_id or in_quality_office(user))


def can_transition(user: User, nc: Nonconformity, to: str) -> bool:
    """Return whether ``user`` may attempt this move (the step's own checks may still refuse)."""
    who = TRANSITIONS.get((nc.state, to))
    if who == "responsible":
        return can_work(user, nc)
    if who == "office":
        return can_reject(user, nc) if to == "rejected" else can_accept(user, nc)
    if who == "checker":
        return can_close(user, nc)
    return False


def allowed_transitions(user: User, nc: Nonconformity) -> list[str]:
    """Return the states ``user`` may move the NC to from where it is."""
    return [to for (frm, to) in TRANSITIONS if frm == nc.state and can_transition(user, nc, to)]


def unfinished_actions(nc: Nonconformity) -> list[str]:
    """Return the numbers of the NC's actions not finished yet (planned, running, failed)."""
    return [a.number for a in nc.actions if a.state in OPEN_ACTION_STATES]


def accepts_own_work(user: User, nc: Nonconformity, to: str) -> bool:
    """Return whether accepting the analysis or plan (``to``) would be the author's own."""
    return to in ("action_plan", "implementation") and user.id == nc.responsible_id


def can_ask_for_check(user: User, nc: Nonconformity) -> bool:
    """Ask for the effectiveness check: the responsible person, once every action is done."""
    return nc.state == "implementation" and can_work(user, nc) and not unfinished_actions(nc)


def offered_transitions(user: User, nc: Nonconformity) -> list[str]:
    """Return the moves the page offers ``user``: those the step's own checks will not refuse
    for who takes them or for the actions still open."""
    offered = []
    for to in allowed_transitions(user, nc):
        if accepts_own_work(user, nc, to):
            continue
        if (nc.state, to) == ("implementation", "effectiveness_check") and not (
            can_ask_for_check(user, nc)
        ):
            continue
        offered.append(to)
    return offered


# -- actions ---------------------------------------------------------------------------


def is_planner(user: User, action: Action) -> bool:
    """Return whether ``user`` is the action's owner, the NC's responsible person or of the
    quality office."""
    nc = action.nonconformity
    allowed = user.id == action.owner_id or in_quality_office(user)
    return allowed or (nc is not None and user.id == nc.responsible_id)


def can_plan(user: User, action: Action) -> bool:
    """Change an action's plan or ask for a document change: a planner, while the action is
    planned or running."""
    return action.state in ACTION_PLANNING_STATES and is_planner(user, action)


def can_work_action(user: User, action: Action) -> bool:
    """Start and finish an action: its owner."""
    return user.id == action.owner_id


def can_verify_effectiveness(user: User, action: Action) -> bool:
    """Judge whether an action worked: not its doer, and of the quality system."""
    if user.id in (action.done_by_id, action.owner_id):
        return False
    nc = action.nonconformity
    return is_checker(user) or (nc is not None and user.id == nc.responsible_id)


def allowed_action_transitions(user: User, action: Action) -> list[str]:
    """Return the states ``user`` may move the action to from where it is."""
    out = []
    for (frm, to), who in ACTION_TRANSITIONS.items():
        if frm != action.state:
            continue
        if (who == "owner" and can_work_action(user, action)) or (
            who == "checker" and can_verify_effectiveness(user, action)
        ):
            out.append(to)
    return out


# -- guards: the refusals the services raise -------------------------------------------


def require_open(nc: Nonconformity) -> None:
    if not nc.is_open:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it can no longer change.",
                number=nc.number,
                state=nc_state_label(nc.state),
            )
        )


def require_responsible(actor: User, nc: Nonconformity) -> None:
    """Refuse anyone but the NC's responsible person, saying who that is."""
    if nc.responsible_id is None:
        raise Conflict(
            _(
                "No one is responsible for %(number)s yet: the quality office assigns it first.",
                number=nc.number,
            ),
            field="responsible",
        )
    if not can_work(actor, nc):
        raise PermissionDenied(
            _(
                "Only the person responsible for %(number)s (%(name)s) works this step.",
                number=nc.number,
                name=nc.responsible.display_name,
            )
        )

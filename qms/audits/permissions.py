"""Who may do what with an audit: one ``can_<verb>(user, obj)`` per rule.

The services' guards, the views and the templates all ask these, so a page offers an
action exactly when the service would allow it. Each rule names the states it applies in
as well as the people, and a guard refused by the state says so (409) rather than
blaming the person (403).
"""

from __future__ import annotations

from flask_babel import gettext as _

from qms.audits.labels import state_label
from qms.audits.models import Audit, AuditProgramme
from qms.auth.models import User
from qms.errors import Conflict, PermissionDenied

AUDITOR_ROLE = "auditor"
PLANNER_ROLES = ("auditor", "approver", "admin")
# Who may change any plan, besides its lead auditor.
REPLANNER_ROLES = ("approver", "admin")
# Who may close an audit besides its lead auditor: the quality office.
CLOSER_ROLES = ("approver",)
PROGRAMME_ROLES = ("approver", "auditor", "admin")

PLAN_STATES = ("planned",)
START_STATES = ("planned",)
CONDUCT_STATES = ("in_progress",)
QUESTION_STATES = ("planned", "in_progress")
ACTION_STATES = ("in_progress", "reported")
REPORT_TEXT_STATES = ("planned", "in_progress")
SIGN_STATES = ("in_progress",)
CLOSE_STATES = ("reported",)


def _on_team(user: User, audit: Audit) -> bool:
    return user.id == audit.lead_auditor_id or user.id in {u.id for u in audit.team}


def can_audit(user: User) -> bool:
    """Whether ``user`` is a qualified auditor, who may lead or join an audit team."""
    return user.has_role(AUDITOR_ROLE)


def can_plan(user: User, audit: Audit | None = None) -> bool:
    """Whether ``user`` may plan a new audit or, given one, change its plan now."""
    if audit is None:
        return user.has_role(*PLANNER_ROLES)
    return audit.state in PLAN_STATES and (
        user.id == audit.lead_auditor_id or user.has_role(*REPLANNER_ROLES)
    )


def can_start(user: User, audit: Audit) -> bool:
    return audit.state in START_STATES and _on_team(user, audit)


def can_conduct(user: User, audit: Audit) -> bool:
    """Whether ``user`` may record findings and evidence in ``audit`` now."""
    return audit.state in CONDUCT_STATES and _on_team(user, audit)


def can_add_question(user: User, audit: Audit) -> bool:
    return audit.state in QUESTION_STATES and _on_team(user, audit)


def can_raise_action(user: User, audit: Audit) -> bool:
    """Whether ``user`` may turn the audit's observations into actions now."""
    return audit.state in ACTION_STATES and _on_team(user, audit)


def can_write_report(user: User, audit: Audit) -> bool:
    return audit.state in REPORT_TEXT_STATES and _on_team(user, audit)


def can_sign_report(user: User, audit: Audit) -> bool:
    return audit.state in SIGN_STATES and user.id == audit.lead_auditor_id


def can_close(user: User, audit: Audit) -> bool:
    return audit.state in CLOSE_STATES and (
        user.id == audit.lead_auditor_id or user.has_role(*CLOSER_ROLES)
    )


def can_keep_programme(user: User, programme: AuditProgramme | None = None) -> bool:
    """Whether ``user`` may keep the audit programme (of any year)."""
    return user.has_role(*PROGRAMME_ROLES)


def require(allowed: bool, audit: Audit | None, states: tuple[str, ...], message: str) -> None:
    """Refuse what a ``can_<verb>`` did not allow: for the audit's state, or for the person."""
    if allowed:
        return
    if audit is not None and audit.state not in states:
        raise Conflict(
            _(
                "Audit %(ref)s is %(state)s; this needs it to be %(needed)s.",
                ref=audit.ref,
                state=state_label(audit.state),
                needed=" / ".join(state_label(s) for s in states),
            )
        )
    raise PermissionDenied(message)

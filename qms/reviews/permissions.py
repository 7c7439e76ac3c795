"""Who may do what with objectives, feedback and management reviews: one ``can_<verb>``.

The services guard every step with these, and the pages and templates ask the same
functions which forms and buttons to show. ``obj`` may be None to ask whether the user
may do it at all (a menu entry, a "New" button); given one, a rule also says whether
its state allows the step now.
"""

from __future__ import annotations

from qms.auth import visibility
from qms.auth.models import User
from qms.reviews.models import Complaint, Objective, Review, SurveyResult

#: The quality office (the management representative) and administrators.
MANAGER_ROLES = ("approver", "admin")
#: A management review is chaired by a management representative.
CHAIR_ROLE = "approver"


def is_manager(user: User) -> bool:
    """Return whether ``user`` works for the quality office or administers the system."""
    return user.has_role(*MANAGER_ROLES)


def can_set_objectives(user: User, objective: Objective | None = None) -> bool:
    """Whether ``user`` may set quality objectives and change their definitions."""
    return is_manager(user)


def can_measure(user: User, objective: Objective) -> bool:
    """The objective's owner and the quality office enter its measurements."""
    return is_manager(user) or (objective.owner_id is not None and objective.owner_id == user.id)


def can_record_surveys(user: User, result: SurveyResult | None = None) -> bool:
    """Whether ``user`` may record or correct satisfaction survey results."""
    return is_manager(user)


def can_see(user: User, complaint: Complaint) -> bool:
    """Its department, whoever registered it and the roles that see all (one table) see it."""
    return visibility.can_see(user, "complaint", complaint.department_id, complaint.raised_by_id)


def can_respond(user: User, complaint: Complaint) -> bool:
    """The department concerned and the quality office respond to a complaint."""
    return is_manager(user) or user.department_id == complaint.department_id


def can_view_dashboard(user: User, obj: object = None) -> bool:
    """Whether ``user`` sees how the quality system performs on the home page."""
    return is_manager(user)


def can_chair(user: User, review: Review | None = None) -> bool:
    """Whether ``user`` may chair a management review."""
    return user.has_role(CHAIR_ROLE)


def can_plan_review(user: User, review: Review | None = None) -> bool:
    """Whether ``user`` may plan management reviews."""
    return is_manager(user)


def can_prepare(user: User, review: Review | None = None) -> bool:
    """Whether ``user`` may write and compile the inputs of ``review`` (until it is held)."""
    return is_manager(user) and (review is None or not review.frozen)


def can_hold(user: User, review: Review | None = None) -> bool:
    """Whether ``user`` may record ``review`` as held (once its inputs are compiled)."""
    return can_prepare(user, review) and (review is None or review.inputs is not None)


def can_decide(user: User, review: Review | None = None) -> bool:
    """Whether ``user`` may record decisions and their actions at ``review`` (held, not signed)."""
    return is_manager(user) and (review is None or review.state == "held")


def can_approve_minutes(user: User, review: Review) -> bool:
    """The chair approves the minutes of a held review."""
    return user.id == review.chair_id and review.state == "held"


#: Every rule by name, for the templates (``review_rules.can_decide(current_user, review)``).
RULES = {
    fn.__name__: fn
    for fn in (
        can_set_objectives,
        can_measure,
        can_record_surveys,
        can_see,
        can_respond,
        can_view_dashboard,
        can_chair,
        can_plan_review,
        can_prepare,
        can_hold,
        can_decide,
        can_approve_minutes,
    )
}

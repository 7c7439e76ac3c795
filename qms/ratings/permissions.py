"""Who may do what with ratings and rectifications: one ``can_<verb>`` per rule.

The quality office (approvers) and administrators receive ratings (import; the service
platform's account sends them through the API), follow up with the citizen and close a
rectification. The responsible department's people look into a poor rating and put it
right; the quality office may do so for a window without a department. Everyone signed in
reads the ratings and the figures.
"""

from __future__ import annotations

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def in_quality_office(user: User) -> bool:
    return user.has_role(*OFFICE_ROLES)


def can_receive(user: User) -> bool:
    """Import ratings or send them through the API: the quality office."""
    return in_quality_office(user)


def can_rectify(user: User, rectification) -> bool:
    """Record the finding and the fix of an open rectification: its department or the office."""
    if rectification.state != "open":
        return False
    return in_quality_office(user) or (
        rectification.department_id is not None
        and user.department_id == rectification.department_id
    )


def can_follow_up(user: User, rectification) -> bool:
    """Record the follow-up with the citizen: the quality office, not the department rated."""
    return rectification.state == "rectified" and in_quality_office(user)


def can_close(user: User, rectification) -> bool:
    """Close a rectification the citizen is content with: the quality office."""
    return rectification.state == "followed_up" and in_quality_office(user)


def can_reopen(user: User, rectification) -> bool:
    """Send a rectification back to be put right again: the quality office."""
    return rectification.state == "followed_up" and in_quality_office(user)


def can_step(user: User, rectification, step: str) -> bool:
    """Return whether ``user`` may take ``step`` (rectify, follow_up, close, reopen) now."""
    rule = {
        "rectify": can_rectify,
        "follow_up": can_follow_up,
        "close": can_close,
        "reopen": can_reopen,
    }.get(step)
    return bool(rule and rule(user, rectification))


def offered_steps(user: User, rectification) -> list[str]:
    """The steps the pages offer ``user`` on a rectification now."""
    return [
        s for s in ("rectify", "follow_up", "close", "reopen") if can_step(user, rectification, s)
    ]

"""Who may do what with training: one ``can_<verb>`` per rule.

The quality office (approvers) and administrators keep positions and records; the
approver marks a revision as needing training; anyone sees their own status, and the
quality office, auditors and administrators see everyone's.
"""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")
VIEWING_ROLES = ("approver", "auditor", "admin")


def can_manage_positions(user: User) -> bool:
    return user.has_role(*OFFICE_ROLES)


def can_record(user: User) -> bool:
    return user.has_role(*OFFICE_ROLES)


def can_mark_revision(user: User) -> bool:
    return user.has_role("approver")


def can_view_matrix(user: User, person: User | None = None) -> bool:
    """Anyone sees their own row; the office, auditors and administrators see all."""
    if person is not None and person.id == user.id:
        return True
    return user.has_role(*VIEWING_ROLES)

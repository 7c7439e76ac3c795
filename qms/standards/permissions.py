"""Who may do what with the standard system: one ``can_<verb>`` per rule.

The quality office (approvers) and administrators keep the standard system: its
categories, the register of external standards, which documents cite a standard and
where each document is placed. Everyone signed in may read the table and the list.
"""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def can_configure(user: User) -> bool:
    """Add, rename, move and remove categories, and apply a preset scheme."""
    return user.has_role(*OFFICE_ROLES)


def can_manage(user: User) -> bool:
    """Add external standards, change their details and record citing documents."""
    return user.has_role(*OFFICE_ROLES)


def can_change_status(user: User) -> bool:
    """Mark a standard replaced or withdrawn (which raises change requests), or in force."""
    return user.has_role(*OFFICE_ROLES)


def can_place(user: User) -> bool:
    """Place register documents in the categories of a scheme."""
    return user.has_role(*OFFICE_ROLES)

"""Who may do what with the register of risks and opportunities.

Everyone signed in reads it. The quality office (approvers, administrators) adds entries
and changes any of them; an entry's owner works their own (treatment, residual score,
status, actions). Only an administrator sets the scales and the matrix.
"""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def can_add(user: User) -> bool:
    return user.is_authenticated and user.has_role(*OFFICE_ROLES)


def can_change(user: User, risk) -> bool:
    return user.is_authenticated and (user.has_role(*OFFICE_ROLES) or risk.owner_id == user.id)


def can_configure(user: User) -> bool:
    return user.is_authenticated and user.has_role("admin")

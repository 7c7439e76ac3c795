"""Who may keep the context registers: the quality office (approvers) and administrators."""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def can_manage(user: User) -> bool:
    return user.has_role(*OFFICE_ROLES)

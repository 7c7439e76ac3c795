"""Who may do what with accounts: one ``can_<verb>`` per rule.

Administrators keep every account; anyone keeps their own password and API tokens.
"""

from qms.auth.models import User


def can_manage_users(user: User) -> bool:
    """List accounts, reset passwords, switch accounts off and on, change roles."""
    return user.is_authenticated and user.has_role("admin")


def can_manage_tokens(user: User, owner: User) -> bool:
    """Create, see and revoke ``owner``'s API tokens: the owner, or an administrator."""
    return user.is_authenticated and (user.id == owner.id or can_manage_users(user))

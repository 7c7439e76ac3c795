"""Who may do what with external providers: one ``can_<verb>`` per rule.

The quality office (approvers) and administrators keep the register and decide a
provider's approval status; a provider's owner (the person who buys from it) may also
evaluate it. Everyone signed in may read the register, to see whom they may buy from.
"""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def can_manage(user: User) -> bool:
    """Add providers and change their details, criteria and documents."""
    return user.has_role(*OFFICE_ROLES)


def can_change_status(user: User) -> bool:
    """Approve, put on condition or suspend a provider: a decision of the quality office."""
    return user.has_role(*OFFICE_ROLES)


def can_evaluate(user: User, supplier=None) -> bool:
    """Record an evaluation: the quality office, or the provider's owner."""
    if user.has_role(*OFFICE_ROLES):
        return True
    return supplier is not None and supplier.owner_id == user.id

"""Who may do what with the equipment register: one ``can_<verb>`` per rule.

The quality office (approvers) and administrators keep the register; an instrument's
owner, too, records its calibrations and takes it out of use.
"""

from qms.auth.models import User

OFFICE_ROLES = ("approver", "admin")


def can_manage(user: User) -> bool:
    """Add instruments and change what the register says about them."""
    return user.has_role(*OFFICE_ROLES)


def can_record_calibration(user: User, equipment) -> bool:
    return can_manage(user) or equipment.owner_id == user.id


def can_change_status(user: User, equipment) -> bool:
    return can_manage(user) or equipment.owner_id == user.id

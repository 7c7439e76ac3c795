"""Who may do what with webhooks: one ``can_<verb>`` per rule.

Webhooks send quality data to other systems, so only administrators keep them, as they
keep the accounts and API tokens.
"""

from qms.auth.models import User


def can_manage(user: User) -> bool:
    """See, add, change and delete subscriptions, see their deliveries, send a test event."""
    return user.is_authenticated and user.has_role("admin")


def can_send_again(user: User, delivery) -> bool:
    """Send a delivery again: an administrator, once every attempt of it has failed."""
    return can_manage(user) and delivery.state == "failed"

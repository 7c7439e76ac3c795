"""The localised names of the webhook events and delivery states."""

from flask_babel import gettext as _


def event_label(event: str) -> str:
    return {
        "document.released": _("A document revision is released"),
        "nc.raised": _("A nonconformity is raised"),
        "action.overdue": _("An action becomes overdue"),
        "rating.poor": _("A poor rating is given"),
        "webhook.test": _("Test event"),
    }.get(event, event)


def state_label(state: str) -> str:
    return {
        "pending": _("pending"),
        "delivered": _("delivered"),
        "failed": _("failed"),
    }.get(state, state)


def state_badge(state: str) -> str:
    """The badge class a state is shown with (the one ``m.status_badge`` takes)."""
    return {"pending": "in_review", "delivered": "effective", "failed": "overdue"}.get(state, state)

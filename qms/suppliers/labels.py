"""The localised names of the suppliers domain's statuses."""

from flask_babel import gettext as _


def status_label(status: str) -> str:
    return {
        "approved": _("approved"),
        "conditional": _("conditional"),
        "suspended": _("suspended"),
    }.get(status, status)


def status_badge(status: str) -> str:
    """The badge class a status is shown with (the one ``m.status_badge`` takes)."""
    return {"approved": "effective", "conditional": "in_review", "suspended": "overdue"}.get(
        status, status
    )

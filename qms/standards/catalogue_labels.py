"""The localised names of the service catalogue's coverage states and gap reasons."""

from flask_babel import gettext as _


def state_label(state: str) -> str:
    """Name an item's coverage state: governed, falls short (缺标), none (无标)."""
    return {
        "covered": _("governed"),
        "short": _("standard falls short"),
        "missing": _("no standard"),
    }.get(state, state)


def state_badge(state: str) -> str:
    """The badge class a coverage state is shown with (the one ``m.status_badge`` takes)."""
    return {"covered": "effective", "short": "in_review", "missing": "overdue"}.get(state, state)


def reason_label(reason: str) -> str:
    """Name why an item's governing standard or document falls short."""
    return {
        "withdrawn": _("the standard is withdrawn"),
        "replaced": _("the standard is replaced"),
        "obsolete": _("the document is obsolete"),
        "review_overdue": _("the document is overdue for periodic review"),
        "not_effective": _("the document is not yet effective"),
    }.get(reason, reason)


def active_label(active: bool) -> str:
    return _("active") if active else _("inactive")


def standard_status_label(status: str) -> str:
    """Name an external standard's status as the catalogue's pages show it."""
    return {
        "in_force": _("in force"),
        "replaced": _("replaced"),
        "withdrawn": _("withdrawn"),
    }.get(status, status)

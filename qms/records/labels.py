"""The localised names of record states and link types, for pages, exports and the API."""

from flask_babel import gettext as _


def status_label(status: str) -> str:
    return {
        "submitted": _("submitted"),
        "amended": _("amended"),
        "void": _("void"),
    }.get(status, status)


def link_label(target_type: str) -> str:
    return {
        "nonconformity": _("Nonconformity"),
        "audit": _("Audit"),
        "action": _("Action"),
        "complaint": _("Complaint"),
        "record": _("Record"),
    }.get(target_type, target_type)

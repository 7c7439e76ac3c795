"""The localised names of the context domain's kinds and statuses."""

from flask_babel import gettext as _


def kind_label(kind: str) -> str:
    return {"internal": _("internal"), "external": _("external")}.get(kind, kind)


def legal_status_label(status: str) -> str:
    return {
        "applicable": _("applicable"),
        "under_review": _("under review"),
        "not_applicable": _("not applicable"),
        "withdrawn": _("withdrawn"),
    }.get(status, status)

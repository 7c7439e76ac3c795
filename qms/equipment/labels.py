"""The localised names of the equipment register's kinds, results and statuses."""

from flask_babel import gettext as _


def kind_label(kind: str) -> str:
    return {"calibration": _("calibration"), "verification": _("verification")}.get(kind, kind)


def unit_label(unit: str) -> str:
    return {"months": _("months"), "days": _("days")}.get(unit, unit)


def result_label(result: str | None) -> str:
    return {
        "pass": _("pass"),
        "out_of_tolerance": _("out of tolerance"),
        "adjusted": _("adjusted"),
    }.get(result or "", result or "")


def status_label(status: str) -> str:
    return {
        "in_use": _("in use"),
        "out_of_calibration": _("out of calibration"),
        "withdrawn": _("withdrawn"),
    }.get(status, status)

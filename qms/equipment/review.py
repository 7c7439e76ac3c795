"""The equipment register's figures for the management review (§9.3.2 d, resources)."""

from datetime import date

from flask_babel import gettext as _

from qms.equipment import services


def _fig(key: str, label: str, value) -> dict:
    return {"key": key, "label": label, "value": value, "unit": "", "detail": "", "data": {}}


def add_to(part: dict, start: date, end: date) -> dict:
    """Add the instruments, those due and overdue, and the out-of-tolerance results of the
    period to the review's resources ``part``; return it."""
    got = services.review_figures(start, end)
    part["figures"] = part["figures"] + [
        _fig("resources.equipment", _("instruments in the equipment register"), got["instruments"]),
        _fig("resources.equipment_due", _("instruments due for calibration"), got["due"]),
        _fig("resources.equipment_overdue", _("instruments overdue"), got["overdue"]),
        _fig("resources.calibrations", _("calibrations in the period"), got["calibrations"]),
        _fig(
            "resources.out_of_tolerance",
            _("out-of-tolerance results in the period"),
            got["out_of_tolerance"],
        ),
    ]
    part["items"] = part["items"] + [
        {
            "kind": "equipment",
            "key": number,
            "text": _("out of tolerance on %(date)s", date=day.isoformat())
            + (f" ({nc})" if nc else ""),
        }
        for number, day, nc in got["out_of_tolerance_items"]
    ]
    return part

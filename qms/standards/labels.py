"""The localised names of the standard system's statuses, schemes and preset categories."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: The schemes an administrator applies in one click: key -> ordered categories as
#: ``(code, name, parent code or None)``. Names are lazy: they are stored in the language
#: of whoever applies the preset.
PRESETS = {
    # How public service centres divide their system by kind of standard.
    "types": (
        ("JC", _l("Base standards"), None),
        ("ZL", _l("Quality standards"), None),
        ("GL", _l("Management standards"), None),
        ("GZ", _l("Work standards"), None),
    ),
    # GB/T 24421.2-2009, the standard system of a service organisation (figure 2 and 3).
    "gbt24421": (
        ("100", _l("General base standards"), None),
        ("101", _l("Standardisation guidelines"), "100"),
        ("102", _l("Terms and abbreviations"), "100"),
        ("103", _l("Symbols and signs"), "100"),
        ("104", _l("Values and data"), "100"),
        ("105", _l("Quantities and units"), "100"),
        ("106", _l("Measurement"), "100"),
        ("200", _l("Service support standards"), None),
        ("201", _l("Environment"), "200"),
        ("202", _l("Energy"), "200"),
        ("203", _l("Safety and emergency"), "200"),
        ("204", _l("Occupational health"), "200"),
        ("205", _l("Information"), "200"),
        ("206", _l("Financial management"), "200"),
        ("207", _l("Facilities, equipment and supplies"), "200"),
        ("208", _l("Human resources"), "200"),
        ("209", _l("Contract management"), "200"),
        ("300", _l("Service provision standards"), None),
        ("301", _l("Service specifications"), "300"),
        ("302", _l("Service provision specifications"), "300"),
        ("303", _l("Service quality control specifications"), "300"),
        ("304", _l("Operation management specifications"), "300"),
        ("305", _l("Service evaluation and improvement"), "300"),
        ("400", _l("Post work standards"), None),
        ("401", _l("Decision-making level"), "400"),
        ("402", _l("Management level"), "400"),
        ("403", _l("Operating staff"), "400"),
    ),
}


def status_label(status: str) -> str:
    return {
        "in_force": _("in force"),
        "replaced": _("replaced"),
        "withdrawn": _("withdrawn"),
    }.get(status, status)


def status_badge(status: str) -> str:
    """The badge class a status is shown with (the one ``m.status_badge`` takes)."""
    return {"in_force": "effective", "replaced": "in_review", "withdrawn": "overdue"}.get(
        status, status
    )


def scheme_label(scheme: str) -> str:
    """The name of a scheme: a preset's in the user's language, any other by its key."""
    return {
        "types": _("Base / quality / management / work"),
        "gbt24421": _("Service organisation (GB/T 24421)"),
    }.get(scheme, scheme)

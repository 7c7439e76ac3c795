"""The localised names of the register's kinds, levels, statuses and scale steps."""

from flask_babel import gettext as _


def kind_label(kind: str) -> str:
    return {"risk": _("risk"), "opportunity": _("opportunity")}.get(kind, kind)


def level_label(level: str | None) -> str:
    return {"low": _("low"), "medium": _("medium"), "high": _("high")}.get(level or "", level or "")


def status_label(status: str) -> str:
    return {
        "open": _("open"),
        "treated": _("treated"),
        "accepted": _("accepted"),
        "closed": _("closed"),
    }.get(status, status)


# Which of the five default steps a smaller scale uses.
_STEPS = {3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}


def default_likelihood_names(scale: int) -> list[str]:
    five = [_("Rare"), _("Unlikely"), _("Possible"), _("Likely"), _("Almost certain")]
    return [five[i] for i in _STEPS[scale]]


def default_impact_names(scale: int) -> list[str]:
    five = [_("Negligible"), _("Minor"), _("Moderate"), _("Major"), _("Severe")]
    return [five[i] for i in _STEPS[scale]]

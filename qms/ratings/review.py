"""What citizens' ratings bring to a management review (§9.3.2 c) 1): customer satisfaction)."""

from datetime import date

from flask_babel import gettext as _

from qms.ratings import figures


def _fig(key: str, label: str, value, unit: str = "", detail: str = "") -> dict:
    return {"key": key, "label": label, "value": value, "unit": unit, "detail": detail, "data": {}}


def add_to(part: dict, start: date, end: date) -> dict:
    """Add the period's rating figures to the review's customer ``part``; return it.

    A period without ratings adds nothing: an installation that does not take ratings
    has no line about them in its reviews.
    """
    _rows, total = figures.figures(start, end)
    if not total.ratings:
        return part
    part["figures"] = part["figures"] + [
        _fig("customer.ratings", _("citizens' ratings received"), total.ratings),
        _fig(
            "customer.ratings_good_rate",
            _("Good-rating rate"),
            total.good_rate,
            "%",
            _("%(n)d of %(total)d ratings good", n=total.good, total=total.ratings),
        ),
        _fig("customer.ratings_poor", _("Poor ratings"), total.poor),
        _fig(
            "customer.rectified_on_time",
            _("Rectifications on time"),
            total.on_time_rate,
            "%",
            _("%(n)d of %(total)d on time", n=total.on_time, total=total.judged),
        ),
        _fig(
            "customer.followup_satisfaction",
            _("Follow-up satisfaction"),
            total.satisfaction_rate,
            "%",
            _("%(n)d of %(total)d content", n=total.content, total=total.followed_up),
        ),
    ]
    return part

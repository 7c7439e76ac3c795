"""The ratings' figures for a period, per window, item or department, and as objective sources.

- good-rating rate: levels 4 and 5 over all ratings;
- poor ratings: how many were level 1 or 2;
- rectification on time: put right by the due date, over those put right or overdue;
- follow-up satisfaction: citizens satisfied or basically satisfied when followed up,
  over those followed up.

One query of plain columns: a year of a large centre's ratings is never loaded as objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.auth.models import Department
from qms.extensions import db
from qms.ratings.models import CONTENT_RESULTS, GOOD_LEVELS, POOR_LEVELS, Rating, Rectification
from qms.ratings.services import bounds
from qms.standards.models import ServiceItem, ServiceWindow

GROUPS = ("window", "item", "department")


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class Row:
    """The figures of one window, item or department (or of all: ``key`` None)."""

    key: str | None
    label: str
    ratings: int = 0
    good: int = 0
    poor: int = 0
    judged: int = 0  # rectifications put right or overdue
    on_time: int = 0
    followed_up: int = 0
    content: int = 0

    @property
    def good_rate(self) -> float | None:
        return _percent(self.good, self.ratings)

    @property
    def on_time_rate(self) -> float | None:
        return _percent(self.on_time, self.judged)

    @property
    def satisfaction_rate(self) -> float | None:
        return _percent(self.content, self.followed_up)

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "ratings": self.ratings,
            "good": self.good,
            "good_rate": self.good_rate,
            "poor": self.poor,
            "rectifications_judged": self.judged,
            "rectified_on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "followed_up": self.followed_up,
            "content": self.content,
            "satisfaction_rate": self.satisfaction_rate,
        }


def _names(group: str) -> dict[int, tuple[str, str]]:
    if group == "window":
        rows = db.session.execute(select(ServiceWindow.id, ServiceWindow.code, ServiceWindow.name))
        return {i: (code, f"{code} {name}") for i, code, name in rows}
    if group == "item":
        rows = db.session.execute(select(ServiceItem.id, ServiceItem.code, ServiceItem.name))
        return {i: (code, f"{code} {name}") for i, code, name in rows}
    rows = db.session.execute(select(Department.id, Department.name))
    return {i: (name, name) for i, name in rows}


def figures(start: date, end: date, group: str = "window") -> tuple[list[Row], Row]:
    """Return the rows of ``group`` for the ratings of [start, end], and the total row."""
    group = group if group in GROUPS else "window"
    column = {"window": Rating.window_id, "item": Rating.item_id}.get(group, Rating.department_id)
    low, high = bounds(start, end)
    query = (
        select(
            column,
            Rating.level,
            Rectification.state,
            Rectification.due_date,
            Rectification.rectified_at,
            Rectification.followup_result,
        )
        .outerjoin(Rectification, Rectification.rating_id == Rating.id)
        .where(Rating.rated_at >= low, Rating.rated_at < high)
    )
    names = _names(group)
    today = clock.today()
    total = Row(None, _("All"))
    rows: dict[int | None, Row] = {}
    for key, level, state, due, rectified_at, result in db.session.execute(query):
        if key not in rows:
            code, label = names.get(key, (None, _("no department")))
            rows[key] = Row(code, label)
        for row in (rows[key], total):
            row.ratings += 1
            row.good += level in GOOD_LEVELS
            row.poor += level in POOR_LEVELS
            if state is None:
                continue
            if rectified_at is not None:
                row.judged += 1
                row.on_time += clock.local(rectified_at).date() <= due
            elif state == "open" and due < today:
                row.judged += 1
            if result is not None and state in ("followed_up", "closed"):
                row.followed_up += 1
                row.content += result in CONTENT_RESULTS
    return sorted(rows.values(), key=lambda r: r.label), total


# -- objective sources (qms.reviews.figures.compute asks these) ----------------------------------

#: The objective sources this domain computes, with the Row property each reads.
SOURCES = {
    "ratings_good_rate": "good_rate",
    "ratings_poor": "poor",
    "rectification_on_time": "on_time_rate",
    "followup_satisfaction": "satisfaction_rate",
}


def objective_figure(key: str, start: date, end: date):
    """Return the reviews domain's Figure of ``key`` over [start, end]."""
    from qms.reviews.figures import Figure

    _rows, total = figures(start, end)
    label, unit, detail = {
        "ratings_good_rate": (
            _("Good-rating rate"),
            "%",
            _("%(n)d of %(total)d ratings good", n=total.good, total=total.ratings),
        ),
        "ratings_poor": (
            _("Poor ratings"),
            "",
            _("%(n)d of %(total)d ratings poor", n=total.poor, total=total.ratings),
        ),
        "rectification_on_time": (
            _("Rectifications on time"),
            "%",
            _("%(n)d of %(total)d on time", n=total.on_time, total=total.judged),
        ),
        "followup_satisfaction": (
            _("Follow-up satisfaction"),
            "%",
            _("%(n)d of %(total)d content", n=total.content, total=total.followed_up),
        ),
    }[key]
    value = getattr(total, SOURCES[key])
    if key == "ratings_poor":
        value = float(value) if total.ratings else None
    return Figure(key, label, value, unit, detail=detail, data=total.as_dict())

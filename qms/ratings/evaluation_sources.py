"""Citizens' ratings as criteria of supervision and evaluation (监督评价) of windows and
departments: the good-rating rate, the poor ratings, rectification on time."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from qms.evaluation.sources import Evidence, Measure, Source, Subject, register
from qms.extensions import db
from qms.ratings.figures import figures
from qms.ratings.models import POOR_LEVELS, Rating
from qms.ratings.services import bounds
from qms.standards.models import ServiceWindow

KINDS = ("department", "window")


def _row(subject: Subject, start: date, end: date):
    rows, _total = figures(start, end, subject.kind)
    key = subject.key if subject.kind == "window" else subject.name
    return next((r for r in rows if r.key == key), None)


def _poor(subject: Subject, start: date, end: date) -> list[Evidence]:
    low, high = bounds(start, end)
    query = select(Rating).where(
        Rating.rated_at >= low, Rating.rated_at < high, Rating.level.in_(POOR_LEVELS)
    )
    if subject.kind == "window":
        query = query.join(ServiceWindow, ServiceWindow.id == Rating.window_id).where(
            ServiceWindow.code == subject.key
        )
    else:
        query = query.where(Rating.department_id == int(subject.key))
    return [
        Evidence(
            "rating",
            r.case_number,
            f"{r.case_number} ({r.level})",
            "ratings.detail",
            {"case": r.case_number},
        )
        for r in db.session.scalars(query.order_by(Rating.rated_at))
    ]


def good_rate(subject: Subject, start: date, end: date, _params: dict) -> Measure:
    row = _row(subject, start, end)
    if row is None or not row.ratings:
        return Measure(None, [], "")
    return Measure(row.good_rate, _poor(subject, start, end), f"{row.good} / {row.ratings}")


def poor_ratings(subject: Subject, start: date, end: date, _params: dict) -> Measure:
    evidence = _poor(subject, start, end)
    return Measure(float(len(evidence)), evidence, str(len(evidence)))


def rectified_on_time(subject: Subject, start: date, end: date, _params: dict) -> Measure:
    row = _row(subject, start, end)
    if row is None or not row.judged:
        return Measure(None, [], "")
    return Measure(row.on_time_rate, _poor(subject, start, end), f"{row.on_time} / {row.judged}")


register(Source("ratings_good_rate", _l("Citizens' good-rating rate (%)"), KINDS, good_rate, "%"))
register(Source("ratings_poor", _l("Citizens' poor ratings"), KINDS, poor_ratings))
register(
    Source(
        "ratings_on_time",
        _l("Poor ratings rectified on time (%)"),
        KINDS,
        rectified_on_time,
        "%",
    )
)

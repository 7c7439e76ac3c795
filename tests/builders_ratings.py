"""Builders for the ratings tests: a small service catalogue and ratings as the platform
sends them."""

from datetime import datetime, timedelta

from sqlalchemy import select

from qms import clock
from qms.auth.models import Department
from qms.extensions import db
from qms.standards.models import ServiceItem, ServiceWindow


def moment(days_ago: int, hour: int = 10) -> str:
    """An office-time moment ``days_ago`` days ago, as the platform sends it."""
    day = clock.today() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, 0).isoformat()


def seed_catalogue() -> dict:
    """Two items at two windows, one of the Service Hall, one of the Quality Office.

    The catalogue's pages belong to another domain: the rows are made directly.
    """
    hall = db.session.scalar(select(Department).filter_by(name="Service Hall"))
    office = db.session.scalar(select(Department).filter_by(name="Quality Office"))
    w1 = ServiceWindow(code="W01", name="Window 1", department_id=hall.id)
    w2 = ServiceWindow(code="W02", name="Window 2", department_id=office.id)
    i1 = ServiceItem(code="SI-001", name="Business licence", windows=[w1, w2])
    i2 = ServiceItem(code="SI-002", name="Food permit", windows=[w1])
    db.session.add_all([w1, w2, i1, i2])
    db.session.commit()
    return {"W01": w1, "W02": w2, "SI-001": i1, "SI-002": i2}


def rating(case="C-0001", level=5, item="SI-001", window="W01", days_ago=1, **kw) -> dict:
    """A rating as the service platform sends it."""
    return {
        "case_number": case,
        "item": item,
        "window": window,
        "channel": kw.pop("channel", "device"),
        "level": level,
        "rated_at": kw.pop("rated_at", moment(days_ago)),
        "comment": kw.pop("comment", ""),
        **kw,
    }

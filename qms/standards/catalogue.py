"""The service catalogue's public functions: what other domains use to name an item or window."""

from sqlalchemy import select

from qms.extensions import db
from qms.standards.models import ServiceItem, ServiceWindow


def item_by_code(code: str) -> ServiceItem | None:
    return db.session.scalar(select(ServiceItem).filter_by(code=code.strip()))


def window_by_code(code: str) -> ServiceWindow | None:
    return db.session.scalar(select(ServiceWindow).filter_by(code=code.strip()))


def active_items() -> list[ServiceItem]:
    return list(db.session.scalars(select(ServiceItem).filter_by(active=True).order_by("code")))


def active_windows() -> list[ServiceWindow]:
    return list(db.session.scalars(select(ServiceWindow).filter_by(active=True).order_by("code")))

"""The equipment register's entries in the search index."""

from collections.abc import Iterator

from qms.equipment import labels, services
from qms.equipment.models import Equipment
from qms.extensions import db
from qms.search.services import Entry


def entry(eq: Equipment) -> Entry:
    """Return the index entry of one instrument: what it is, where, and what it measures."""
    parts = [
        eq.serial,
        eq.location,
        eq.measurement,
        labels.kind_label(eq.kind),
        labels.status_label(eq.status),
        eq.note,
    ]
    return Entry(
        type="equipment",
        key=eq.number,
        title=f"{eq.number} {eq.name}",
        text=" ".join(p for p in parts if p),
        endpoint="equipment.detail",
        params={"number": eq.number},
        updated_at=eq.updated_at,
    )


def all_entries() -> Iterator[Entry]:
    for eq in db.session.scalars(services.list_equipment()).unique():
        yield entry(eq)

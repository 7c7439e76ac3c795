"""The audit trail: append-only, hash-chained events for every change to quality data.

Each event's hash covers its own fields and the previous event's hash, so editing or
deleting any stored event breaks the chain from that point on, which :func:`verify`
detects. Appending takes the single ``trail_head`` row's lock, so concurrent writers
are serialised into one chain on SQLite and PostgreSQL alike.
"""

import hashlib
import json
from datetime import datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.extensions import db
from qms.models import UTCDateTime, aware, utcnow

GENESIS = "0" * 64


class TrailHead(db.Model):
    __tablename__ = "trail_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    # The events about one object (a revision's authors, a record's history), in order.
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_key", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_key: Mapped[str] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    user = relationship("User", lazy="joined")

    def compute_hash(self) -> str:
        """Return the hash this event must carry, given its fields and predecessor."""
        payload = json.dumps(
            [
                self.seq,
                aware(self.at).isoformat(),
                self.user_id,
                self.action,
                self.object_type,
                self.object_key,
                self.before,
                self.after,
                self.prev_hash,
            ],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def _actor_id(user) -> int | None:
    if user is not None:
        return user.id
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def record(
    action: str,
    object_type: str,
    object_key: str,
    before: dict | None = None,
    after: dict | None = None,
    user=None,
) -> AuditEvent:
    """Append an event to the trail inside the caller's transaction."""
    bump = text("UPDATE trail_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
    row = db.session.execute(bump).first()
    if row is None:
        db.session.add(TrailHead(id=1, seq=0, last_hash=GENESIS))
        db.session.flush()
        row = db.session.execute(bump).first()
    seq, prev_hash = row
    event = AuditEvent(
        seq=seq,
        at=utcnow().replace(microsecond=0),
        user_id=_actor_id(user),
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=prev_hash,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.execute(text("UPDATE trail_head SET last_hash = :h WHERE id = 1"), {"h": event.hash})
    return event


def _jsonable(value: dict | None) -> dict | None:
    """Round-trip through JSON so what is hashed is exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def events_for(object_type: str, object_key: str) -> list[AuditEvent]:
    """Return the events about one object, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_key == object_key)
            .order_by(AuditEvent.seq)
        )
    )


#: Objects whose page shows its trail to every signed-in user (the register's pages).
OPEN_OBJECTS = (
    "document",
    "revision",
    "change_request",
    "review",
    "objective",
    "audit",
    "audit_programme",
    "nonconformity",
    "action",
    "risk",
    "supplier",
    "equipment",
    "legal_requirement",
)


def can_read_trail(user, obj: tuple[str, str] | None = None) -> bool:
    """Whether ``user`` may read the trail: all of it, or one object's (``(type, key)``).

    The whole trail carries the before and after of every department's records and
    complaints, so only the roles that see all of those (:mod:`qms.auth.visibility`:
    auditors, the quality office, administrators) read it. One object's events are read
    by whoever opens that object's page, where the same events are shown: anyone for the
    registers of :data:`OPEN_OBJECTS`, who may see it for a record or a complaint.
    """
    from qms.auth import visibility

    if all(visibility.sees_all(user, kind) for kind in visibility.KINDS):
        return True
    if obj is None:
        return False
    object_type, key = obj
    if object_type in OPEN_OBJECTS:
        return True
    if object_type in ("record", "complaint"):
        from qms.errors import NotFound

        if object_type == "record":
            from qms.records.services import get_record as lookup
        else:
            from qms.reviews.feedback import get_complaint as lookup
        try:
            lookup(key, viewer=user)
        except NotFound:
            return False
        return True
    return False


def events(
    object_type: str | None = None,
    object_key: str | None = None,
    user_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """Return a select() over the events, oldest first, narrowed by what is given.

    ``since`` is inclusive and ``until`` exclusive, both aware UTC times; ``action`` ending
    in a dot (``revision.``) matches every action of that family.
    """
    stmt = select(AuditEvent)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_key:
        stmt = stmt.where(AuditEvent.object_key == object_key)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if action:
        if action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt.order_by(AuditEvent.seq)


def users_for(
    object_type: str, object_keys: list[str], actions: tuple[str, ...]
) -> list[tuple[str, int]]:
    """Return (object key, user id) of the events of ``actions`` about ``object_keys``."""
    if not object_keys:
        return []
    return list(
        db.session.execute(
            select(AuditEvent.object_key, AuditEvent.user_id).where(
                AuditEvent.object_type == object_type,
                AuditEvent.object_key.in_(object_keys),
                AuditEvent.action.in_(actions),
                AuditEvent.user_id.is_not(None),
            )
        )
    )


def verify() -> list[str]:
    """Return a description of every break in the chain (empty when intact)."""
    problems = []
    prev = GENESIS
    expected_seq = 1
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        if event.seq != expected_seq:
            problems.append(f"event {expected_seq} is missing before event {event.seq}")
        if event.prev_hash != prev:
            problems.append(f"event {event.seq} does not follow its predecessor")
        if event.compute_hash() != event.hash:
            problems.append(f"event {event.seq} was altered after it was written")
        prev = event.hash
        expected_seq = event.seq + 1
    head = db.session.get(TrailHead, 1)
    if head is not None and head.last_hash != prev:
        problems.append("the newest events were removed")
    return problems

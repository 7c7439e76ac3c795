"""The training matrix: for each person, what their positions require and its state.

A document's training counts when it was passed on the revision that last needed
training (the approver's mark); records on older revisions no longer count for it. When
no released revision was ever marked, training on any revision counts. A qualification
counts while it is valid and comes due ``EXPIRY_WINDOW_DAYS`` before it expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qms import clock, uow
from qms.auth.models import User
from qms.documents import services as documents
from qms.documents.models import Document, Revision
from qms.extensions import db
from qms.training.models import (
    Competence,
    Position,
    PositionHolder,
    RevisionTraining,
    TrainingRecord,
    TrainingReminder,
)
from qms.uow import transactional

# Time allowed for initial training after taking up a position.
INITIAL_DAYS = 30
EXPIRY_WINDOW_DAYS = 30
REMINDER_DAYS = 7
RELEASED = ("effective", "superseded", "obsolete")


@dataclass
class Item:
    """One requirement of one person: a document or a competence, and its state."""

    user: User
    kind: str  # "document" | "competence"
    key: str  # document code or competence name
    title: str
    state: str  # done | due | overdue
    due_date: date | None
    revision: str | None = None
    done_on: date | None = None
    valid_until: date | None = None
    record: str | None = None
    positions: list[str] = field(default_factory=list)
    # Done, but the requirement asks for its effectiveness to be evaluated and it is not yet.
    to_evaluate: bool = False

    @property
    def ident(self) -> str:
        return f"{self.kind}:{self.key}:{self.revision or ''}"


def baseline(doc: Document) -> tuple[Revision | None, RevisionTraining | None]:
    """Return the released revision that last needed training, and its mark."""
    current = documents.effective_revision(doc)
    if current is None:
        return None, None
    row = db.session.execute(
        select(Revision, RevisionTraining)
        .join(RevisionTraining, RevisionTraining.revision_id == Revision.id)
        .where(
            Revision.document_id == doc.id,
            Revision.id <= current.id,
            Revision.status.in_(RELEASED),
            RevisionTraining.needs_training.is_(True),
        )
        .order_by(Revision.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _state(due: date | None, today: date) -> str:
    return "overdue" if due is not None and due < today else "due"


def _holdings(users: list[User]) -> dict[int, list[tuple[Position, PositionHolder]]]:
    ids = [u.id for u in users]
    rows = db.session.execute(
        select(Position, PositionHolder)
        .join(PositionHolder, PositionHolder.position_id == Position.id)
        .where(PositionHolder.user_id.in_(ids))
    ).all()
    result: dict[int, list] = {}
    for position, holder in rows:
        result.setdefault(holder.user_id, []).append((position, holder))
    return result


def _passed(user_ids: list[int]) -> list[TrainingRecord]:
    return list(
        db.session.scalars(
            select(TrainingRecord)
            .where(
                TrainingRecord.user_id.in_(user_ids),
                TrainingRecord.result == "passed",
                # A training evaluated as not effective does not count.
                TrainingRecord.effective.is_not(False),
            )
            .order_by(TrainingRecord.trained_on, TrainingRecord.id)
        )
    )


def items_for(users: list[User], today: date | None = None) -> list[Item]:
    """Return every requirement of ``users`` with its state, person by person."""
    today = today or clock.today()
    holdings = _holdings(users)
    records = _passed([u.id for u in users])
    baselines: dict[int, tuple] = {}
    items: list[Item] = []
    for user in users:
        docs: dict[int, tuple[Document, date, list[str]]] = {}
        comps: dict[int, tuple[Competence, date, list[str]]] = {}
        for position, holder in holdings.get(user.id, []):
            for doc in position.documents:
                if doc.status != "effective":
                    continue
                entry = docs.setdefault(doc.id, (doc, holder.since, []))
                entry[2].append(position.name)
                docs[doc.id] = (doc, min(entry[1], holder.since), entry[2])
            for comp in position.competences:
                entry = comps.setdefault(comp.id, (comp, holder.since, []))
                entry[2].append(position.name)
                comps[comp.id] = (comp, min(entry[1], holder.since), entry[2])
        mine = [r for r in records if r.user_id == user.id]
        for doc, since, names in docs.values():
            if doc.id not in baselines:
                baselines[doc.id] = baseline(doc)
            rev, mark = baselines[doc.id]
            counting = [
                r
                for r in mine
                if r.document_id == doc.id and (rev is None or r.revision_id == rev.id)
            ]
            if counting:
                last = counting[-1]
                items.append(
                    Item(
                        user,
                        "document",
                        doc.code,
                        doc.title,
                        "done",
                        None,
                        revision=last.revision.label,
                        done_on=last.trained_on,
                        record=last.number,
                        positions=names,
                        to_evaluate=bool(
                            mark and mark.evaluate_effectiveness and last.effective is None
                        ),
                    )
                )
                continue
            start = since
            if rev is not None and rev.effective_date and rev.effective_date > since:
                start = rev.effective_date
            days = mark.due_days if (mark and start != since) else INITIAL_DAYS
            due = start + timedelta(days=days)
            current = documents.effective_revision(doc)
            items.append(
                Item(
                    user,
                    "document",
                    doc.code,
                    doc.title,
                    _state(due, today),
                    due,
                    revision=(rev or current).label if (rev or current) else None,
                    positions=names,
                )
            )
        for comp, since, names in comps.values():
            held = [r for r in mine if r.competence_id == comp.id]
            last = held[-1] if held else None
            if last is None:
                due = since + timedelta(days=INITIAL_DAYS)
                items.append(
                    Item(
                        user,
                        "competence",
                        comp.name,
                        comp.name,
                        _state(due, today),
                        due,
                        positions=names,
                    )
                )
                continue
            expires = max((r.valid_until for r in held if r.valid_until), default=None)
            if any(r.valid_until is None for r in held):
                expires = None
            if expires is None or expires > today + timedelta(days=EXPIRY_WINDOW_DAYS):
                state, due = "done", None
            else:
                state, due = ("overdue" if expires < today else "due"), expires
            items.append(
                Item(
                    user,
                    "competence",
                    comp.name,
                    comp.name,
                    state,
                    due,
                    done_on=last.trained_on,
                    valid_until=expires,
                    record=last.number,
                    positions=names,
                    to_evaluate=comp.evaluate_effectiveness and last.effective is None,
                )
            )
    return items


def people(department_id: int | None = None, username: str | None = None) -> list[User]:
    """Return the active people who hold a position, filtered by department or name."""
    query = (
        select(User)
        .where(User.active.is_(True))
        .where(User.id.in_(select(PositionHolder.user_id)))
        .order_by(User.username)
    )
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if username is not None:
        query = query.where(User.username == username)
    return list(db.session.scalars(query).unique())


def matrix(department_id: int | None = None, username: str | None = None) -> list[Item]:
    return items_for(people(department_id, username))


@dataclass
class Coverage:
    """Training coverage: requirements done out of all requirements."""

    required: int
    done: int
    due: int
    overdue: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.done / self.required, 1) if self.required else None


def coverage(items: list[Item]) -> Coverage:
    return Coverage(
        len(items),
        sum(i.state == "done" for i in items),
        sum(i.state == "due" for i in items),
        sum(i.state == "overdue" for i in items),
    )


def coverage_by_department(today: date | None = None) -> dict[str, Coverage]:
    """Return the coverage of each department with positions, and ``"*"`` for all."""
    items = items_for(people(), today)
    result: dict[str, Coverage] = {}
    for name in sorted({i.user.department.name for i in items}):
        result[name] = coverage([i for i in items if i.user.department.name == name])
    result["*"] = coverage(items)
    return result


def concerned(doc: Document) -> list[User]:
    """Return the people whose positions require ``doc``."""
    from qms.training.models import PositionDocument

    query = (
        select(User)
        .join(PositionHolder, PositionHolder.user_id == User.id)
        .join(PositionDocument, PositionDocument.position_id == PositionHolder.position_id)
        .where(PositionDocument.document_id == doc.id, User.active.is_(True))
        .order_by(User.username)
    )
    return list(db.session.scalars(query).unique())


# -- reminders --------------------------------------------------------------------------------


def send_reminders(today: date | None = None) -> list[str]:
    """Remind each person of training overdue or due within a week, once per item and date."""
    today = today or clock.today()
    sent: list[str] = []
    for item in items_for(people(), today):
        if item.state == "done" or item.due_date is None:
            continue
        if item.due_date > today + timedelta(days=REMINDER_DAYS):
            continue
        try:
            _claim(item, today, sent)
        except IntegrityError:
            continue  # another run claimed it first
    return sent


@transactional
def _claim(item: Item, today: date, sent: list[str]) -> None:
    from qms.improvement import mail

    exists = db.session.scalar(
        select(TrainingReminder.id).where(
            TrainingReminder.user_id == item.user.id,
            TrainingReminder.item == item.ident[:80],
            TrainingReminder.due_date == item.due_date,
        )
    )
    if exists is not None:
        return
    reminder = TrainingReminder(user_id=item.user.id, item=item.ident[:80], due_date=item.due_date)
    db.session.add(reminder)
    db.session.flush()
    message = mail.compose(item.user, "training/mail/reminder.txt", item=item, today=today)
    line = f"{item.ident} -> {item.user.username}"
    reminder_id = reminder.id

    def deliver_or_give_up() -> None:
        if mail.deliver(message):
            sent.append(line)
        else:
            _give_up(reminder_id)

    uow.after_commit(deliver_or_give_up)


@transactional
def _give_up(reminder_id: int) -> None:
    """Forget a claim whose message was not accepted, for the next run to retry."""
    db.session.execute(
        TrainingReminder.__table__.delete().where(TrainingReminder.id == reminder_id)
    )

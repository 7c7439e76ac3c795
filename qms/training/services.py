"""The rules of training, used by both the pages and the API.

Positions say what each person needs; records say what was done; the approver marks a
revision as needing training. What is due is computed in :mod:`qms.training.matrix`.
Every public function that changes something is ``@transactional`` and leaves a trail
event; nothing here commits.
"""

from __future__ import annotations

import io
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import attachments, clock, trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.documents import services as documents
from qms.documents.models import Revision
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.training.models import (
    METHODS,
    RESULTS,
    Competence,
    Position,
    PositionCompetence,
    PositionDocument,
    PositionHolder,
    RevisionTraining,
    TrainingRecord,
)
from qms.training.permissions import can_manage_positions, can_mark_revision, can_record
from qms.uow import transactional

MAX_DUE_DAYS = 365


def _office_only(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Only the quality office may do this."))


def get_user(username: str, field: str = "user") -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ValidationFailed(_("There is no user %(name)s.", name=username), field=field)
    return user


def get_department(name: str) -> Department:
    dept = db.session.scalar(select(Department).where(Department.name == (name or "").strip()))
    if dept is None:
        raise NotFound(_("There is no department %(name)s.", name=name))
    return dept


# -- competences and positions ---------------------------------------------------------------


@transactional
def create_competence(
    actor: User,
    name: str,
    validity_months: int | None = None,
    description: str = "",
    evaluate_effectiveness: bool = False,
) -> Competence:
    """Add a competence; ``validity_months`` makes it a qualification that expires, and
    ``evaluate_effectiveness`` asks for each training in it to be evaluated afterwards."""
    _office_only(can_manage_positions(actor))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), field="name")
    if validity_months is not None and not 1 <= validity_months <= 240:
        raise ValidationFailed(
            _("The validity must be between 1 and 240 months."), field="validity_months"
        )
    if db.session.scalar(select(Competence.id).where(Competence.name == name)):
        raise ValidationFailed(_("There is already a competence %(name)s.", name=name), "name")
    competence = Competence(
        name=name,
        validity_months=validity_months,
        description=description,
        evaluate_effectiveness=evaluate_effectiveness,
    )
    db.session.add(competence)
    db.session.flush()
    trail.record(
        "competence.created",
        "competence",
        str(competence.id),
        after={
            "name": name,
            "validity_months": validity_months,
            "evaluate_effectiveness": evaluate_effectiveness,
        },
        user=actor,
    )
    return competence


def get_competence(name: str, field: str = "competence") -> Competence:
    competence = db.session.scalar(
        select(Competence).where(Competence.name == (name or "").strip())
    )
    if competence is None:
        raise ValidationFailed(_("There is no competence %(name)s.", name=name), field=field)
    return competence


@transactional
def create_position(
    actor: User,
    department: Department,
    name: str,
    documents_required: list[str] = (),
    competences: list[str] = (),
    description: str = "",
) -> Position:
    """Add a position to ``department`` with the documents and competences it needs."""
    _office_only(can_manage_positions(actor))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), field="name")
    exists = select(Position.id).where(
        Position.department_id == department.id, Position.name == name
    )
    if db.session.scalar(exists):
        raise ValidationFailed(
            _("%(dept)s already has a position %(name)s.", dept=department.name, name=name),
            field="name",
        )
    position = Position(name=name, department_id=department.id, description=description)
    db.session.add(position)
    _required(position, documents_required, competences)
    db.session.flush()
    trail.record(
        "position.created",
        "position",
        str(position.id),
        after={"department": department.name, "name": name, **_requirements(position)},
        user=actor,
    )
    return position


@transactional
def assign_position(actor: User, position: Position, user: User, since: date | None = None):
    """Put ``user`` in ``position`` from ``since`` (today by default)."""
    _office_only(can_manage_positions(actor))
    if user.department_id != position.department_id:
        raise ValidationFailed(
            _("%(user)s does not work in %(dept)s.", user=user, dept=position.department.name),
            field="user",
        )
    if any(h.user_id == user.id for h in position.holders):
        raise ValidationFailed(_("%(user)s already holds this position.", user=user), "user")
    holder = PositionHolder(user_id=user.id, since=since or clock.today())
    position.holders.append(holder)
    db.session.flush()
    trail.record(
        "position.assigned",
        "position",
        str(position.id),
        after={"user": user.username, "since": holder.since.isoformat()},
        user=actor,
    )
    return holder


def _required(position: Position, documents_required, competences) -> None:
    """Set what ``position`` needs: the documents by code and the competences by name."""
    position.document_rows.clear()
    position.competence_rows.clear()
    db.session.flush()
    for code in dict.fromkeys(c.strip() for c in documents_required if c.strip()):
        try:
            doc = documents.get_document(code)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="documents") from None
        position.document_rows.append(PositionDocument(document_id=doc.id))
    for competence_name in dict.fromkeys(c.strip() for c in competences if c.strip()):
        competence = get_competence(competence_name, field="competences")
        position.competence_rows.append(PositionCompetence(competence_id=competence.id))


def _requirements(position: Position) -> dict:
    return {
        "documents": [d.code for d in position.documents],
        "competences": [c.name for c in position.competences],
    }


@transactional
def set_requirements(
    actor: User, position: Position, documents_required: list[str], competences: list[str]
) -> Position:
    """Change the documents and competences ``position`` needs; the matrix follows."""
    _office_only(can_manage_positions(actor))
    before = _requirements(position)
    _required(position, documents_required, competences)
    db.session.flush()
    trail.record(
        "position.changed",
        "position",
        str(position.id),
        before=before,
        after=_requirements(position),
        user=actor,
    )
    return position


@transactional
def leave_position(actor: User, position: Position, user: User) -> None:
    """Take ``user`` out of ``position``: its requirements no longer apply to them."""
    _office_only(can_manage_positions(actor))
    holder = next((h for h in position.holders if h.user_id == user.id), None)
    if holder is None:
        raise ValidationFailed(_("%(user)s does not hold this position.", user=user), "user")
    position.holders.remove(holder)
    db.session.flush()
    trail.record(
        "position.left",
        "position",
        str(position.id),
        before={"user": user.username, "since": holder.since.isoformat()},
        user=actor,
    )


def list_positions(department_id: int | None = None) -> list[Position]:
    query = select(Position).order_by(Position.department_id, Position.name)
    if department_id is not None:
        query = query.where(Position.department_id == department_id)
    return list(db.session.scalars(query))


def get_position(position_id: int) -> Position:
    position = db.session.get(Position, position_id)
    if position is None:
        raise NotFound(_("There is no such position."))
    return position


def positions_of(user: User) -> list[Position]:
    query = (
        select(Position)
        .join(PositionHolder, PositionHolder.position_id == Position.id)
        .where(PositionHolder.user_id == user.id)
        .order_by(Position.name)
    )
    return list(db.session.scalars(query))


# -- the revision property ---------------------------------------------------------------------


def revision_training(rev: Revision) -> RevisionTraining | None:
    return db.session.scalar(select(RevisionTraining).where(RevisionTraining.revision_id == rev.id))


def needs_training(rev: Revision) -> bool:
    mark = revision_training(rev)
    return bool(mark and mark.needs_training)


@transactional
def mark_revision(
    actor: User, rev: Revision, needed: bool, due_days: int = 30, evaluate: bool = False
) -> RevisionTraining:
    """Set whether ``rev`` needs training (acknowledgement alone by default).

    Only an approver may, and only before the revision is released: what a release made
    due must not change afterwards.
    """
    if not can_mark_revision(actor):
        raise PermissionDenied(_("Only an approver may say whether a revision needs training."))
    if rev.status not in ("draft", "in_review", "approved"):
        raise ValidationFailed(
            _("A released revision's training need can no longer change."), field="needs_training"
        )
    if not 1 <= due_days <= MAX_DUE_DAYS:
        raise ValidationFailed(
            _("The training must be due within 1 to %(n)s days.", n=MAX_DUE_DAYS),
            field="due_days",
        )
    mark = revision_training(rev)
    before = _mark_snapshot(mark) if mark else None
    if mark is None:
        mark = RevisionTraining(revision_id=rev.id, set_by_id=actor.id)
        db.session.add(mark)
    mark.needs_training, mark.due_days, mark.set_by_id = needed, due_days, actor.id
    mark.evaluate_effectiveness = bool(needed and evaluate)
    db.session.flush()
    trail.record(
        "revision.training_marked",
        "revision",
        f"{rev.document.code}/{rev.label}",
        before=before,
        after=_mark_snapshot(mark),
        user=actor,
    )
    return mark


def _mark_snapshot(mark: RevisionTraining) -> dict:
    return {
        "needs_training": mark.needs_training,
        "due_days": mark.due_days,
        "evaluate_effectiveness": mark.evaluate_effectiveness,
    }


# -- records --------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    return documents.add_months(day, months)


@transactional
def record_training(
    actor: User,
    person: User,
    trained_on: date,
    trainer: str,
    method: str,
    result: str,
    document_code: str | None = None,
    revision_label: str | None = None,
    competence_name: str | None = None,
    valid_until: date | None = None,
    note: str = "",
    evidence=None,
    evidence_name: str | None = None,
    session_number: str | None = None,
) -> TrainingRecord:
    """Record that ``person`` was trained on a document revision or in a competence.

    A document's training is on its effective revision unless another is named. For a
    qualification that expires, ``valid_until`` defaults to its validity from the date.
    ``evidence`` is a file-like object kept in the one attachment store.
    """
    if not can_record(actor):
        raise PermissionDenied(_("Only the quality office may record training."))
    trainer = (trainer or "").strip()
    if not trainer:
        raise ValidationFailed(_("Name the trainer."), field="trainer")
    if method not in METHODS:
        raise ValidationFailed(_("Choose a training method."), field="method")
    if result not in RESULTS:
        raise ValidationFailed(_("Choose a result."), field="result")
    if trained_on is None:
        raise ValidationFailed(_("Give the date of the training."), field="trained_on")
    if trained_on > clock.today():
        raise ValidationFailed(_("The training date cannot be in the future."), "trained_on")
    if bool(document_code) == bool(competence_name):
        raise ValidationFailed(
            _("Name either a document or a competence the training was for."), field="document"
        )
    record = TrainingRecord(
        user_id=person.id,
        trained_on=trained_on,
        trainer=trainer,
        method=method,
        result=result,
        note=(note or "").strip(),
        recorded_by_id=actor.id,
        session_number=session_number,
    )
    subject: dict = {}
    if document_code:
        try:
            doc = documents.get_document(document_code.strip())
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="document") from None
        if revision_label:
            try:
                rev = documents.get_revision(doc, revision_label.strip())
            except NotFound as exc:
                raise ValidationFailed(exc.message, field="revision") from None
        else:
            rev = documents.effective_revision(doc)
        if rev is None or rev.released_at is None:
            raise ValidationFailed(
                _("%(code)s has no released revision to train on.", code=doc.code),
                field="revision",
            )
        record.document_id, record.revision_id = doc.id, rev.id
        subject = {"document": doc.code, "revision": rev.label}
    else:
        competence = get_competence(competence_name)
        record.competence_id = competence.id
        if valid_until is None and competence.validity_months:
            valid_until = _add_months(trained_on, competence.validity_months)
        subject = {"competence": competence.name}
    if valid_until is not None and valid_until < trained_on:
        raise ValidationFailed(
            _("The qualification cannot expire before the training."), field="valid_until"
        )
    record.valid_until = valid_until
    if evidence is not None:
        stored = attachments.save(evidence, evidence_name, field="evidence")
        record.evidence_sha256, record.evidence_name = stored.sha256, stored.name
    year = trained_on.year
    record.number = f"TR-{year}-{next_number(f'TR-{year}'):04d}"
    db.session.add(record)
    db.session.flush()
    trail.record(
        "training.recorded",
        "training",
        record.number,
        after={
            "user": person.username,
            **subject,
            "trained_on": trained_on.isoformat(),
            "trainer": trainer,
            "method": method,
            "result": result,
            "valid_until": valid_until.isoformat() if valid_until else None,
            "evidence": record.evidence_sha256,
            "session": session_number,
        },
        user=actor,
    )
    return record


@transactional
def record_session(
    actor: User,
    attendees: list[User],
    trained_on: date,
    trainer: str,
    method: str,
    failed: list[User] = (),
    evidence: bytes | None = None,
    evidence_name: str | None = None,
    **subject,
) -> list[TrainingRecord]:
    """Record one session several people attended: one record each, all or none.

    ``failed`` names the attendees who did not pass; ``subject`` is what
    :func:`record_training` takes (document_code, revision_label, competence_name,
    valid_until, note). The attendance sheet (``evidence``) is kept once for all.
    """
    people = list(dict.fromkeys(attendees))
    if not people:
        raise ValidationFailed(_("Choose who attended."), field="user")
    failed_ids = {u.id for u in failed}
    if failed_ids - {u.id for u in people}:
        raise ValidationFailed(_("Only an attendee can fail the session."), field="failed")
    year = trained_on.year if trained_on else clock.today().year
    number = f"TS-{year}-{next_number(f'TS-{year}'):04d}" if len(people) > 1 else None
    return [
        record_training(
            actor,
            person,
            trained_on,
            trainer,
            method,
            "failed" if person.id in failed_ids else "passed",
            evidence=io.BytesIO(evidence) if evidence else None,
            evidence_name=evidence_name,
            session_number=number,
            **subject,
        )
        for person in people
    ]


def list_session(number: str) -> list[TrainingRecord]:
    """Return the records of the session ``number``, in the order they were made."""
    return list(
        db.session.scalars(
            select(TrainingRecord)
            .where(TrainingRecord.session_number == number)
            .order_by(TrainingRecord.id)
        )
    )


# -- effectiveness evaluation (§7.2 c) --------------------------------------------------------


def needs_evaluation(record: TrainingRecord) -> bool:
    """Whether the requirement asks for this passed training to be evaluated."""
    if record.result != "passed":
        return False
    if record.competence is not None:
        return record.competence.evaluate_effectiveness
    mark = revision_training(record.revision) if record.revision else None
    return bool(mark and mark.evaluate_effectiveness)


def awaiting_evaluation(records: list[TrainingRecord]) -> set[str]:
    """Return the numbers of ``records`` whose effectiveness is still to be evaluated."""
    marked = set(
        db.session.scalars(
            select(RevisionTraining.revision_id).where(
                RevisionTraining.evaluate_effectiveness.is_(True)
            )
        )
    )
    return {
        r.number
        for r in records
        if r.result == "passed"
        and r.effective is None
        and (
            r.competence.evaluate_effectiveness
            if r.competence is not None
            else r.revision_id in marked
        )
    }


@transactional
def evaluate(
    actor: User,
    record: TrainingRecord,
    effective: bool,
    evaluation: str,
    evaluated_on: date | None = None,
) -> TrainingRecord:
    """Record whether a training was effective; one not effective no longer counts."""
    if not can_record(actor):
        raise PermissionDenied(_("Only the quality office may record training."))
    if not needs_evaluation(record):
        raise ValidationFailed(
            _(
                "%(number)s is not a training whose effectiveness is evaluated.",
                number=record.number,
            )
        )
    if record.effective is not None:
        raise ValidationFailed(
            _("%(number)s was evaluated on %(day)s.", number=record.number, day=record.evaluated_on)
        )
    evaluation = (evaluation or "").strip()
    if not evaluation:
        raise ValidationFailed(_("Say how the effectiveness was judged."), field="evaluation")
    evaluated_on = evaluated_on or clock.today()
    if not record.trained_on <= evaluated_on <= clock.today():
        raise ValidationFailed(
            _("The evaluation date must be between the training and today."),
            field="evaluated_on",
        )
    record.effective, record.evaluation = bool(effective), evaluation
    record.evaluated_on, record.evaluated_by_id = evaluated_on, actor.id
    db.session.flush()
    trail.record(
        "training.evaluated",
        "training",
        record.number,
        before={"effective": None},
        after={
            "effective": record.effective,
            "evaluation": evaluation,
            "evaluated_on": evaluated_on.isoformat(),
        },
        user=actor,
    )
    return record


def list_records(user_id: int | None = None, department_id: int | None = None):
    query = select(TrainingRecord).order_by(TrainingRecord.trained_on.desc(), TrainingRecord.id)
    if user_id is not None:
        query = query.where(TrainingRecord.user_id == user_id)
    if department_id is not None:
        query = query.join(User, User.id == TrainingRecord.user_id).where(
            User.department_id == department_id
        )
    return list(db.session.scalars(query))


def get_record(number: str) -> TrainingRecord:
    record = db.session.scalar(select(TrainingRecord).where(TrainingRecord.number == number))
    if record is None:
        raise NotFound(_("There is no training record %(number)s.", number=number))
    return record


def on_revision(event: str, rev: Revision) -> None:
    """Leave a trail event naming who must now be trained, when a marked revision is released."""
    from qms.training.matrix import concerned

    if event != "effective" or not needs_training(rev):
        return
    mark = revision_training(rev)
    people = concerned(rev.document)
    trail.record(
        "training.due",
        "revision",
        f"{rev.document.code}/{rev.label}",
        after={"people": [u.username for u in people], "due_days": mark.due_days},
    )

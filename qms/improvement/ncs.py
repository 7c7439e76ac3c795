"""Nonconformities: raising, assigning, evidence and documents, and the workflow.

An NC moves reported -> containment -> analysis -> action_plan -> implementation ->
effectiveness_check -> closed, or is rejected as unfounded, or goes back to analysis
(reopened) when the check finds its actions not effective. Who may take each step is
in :mod:`qms.improvement.permissions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms import attachments, clock, trail, webhooks
from qms.auth.models import User
from qms.auth.services import active_user_named
from qms.database import next_number
from qms.documents import services as documents_services
from qms.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from qms.extensions import db
from qms.improvement import mail
from qms.improvement.analysis import analysis_gaps
from qms.improvement.labels import nc_state_label
from qms.improvement.models import (
    NC_STATES,
    OPEN_NC_STATES,
    SEVERITIES,
    SOURCES,
    Evidence,
    NcDocument,
    Nonconformity,
)
from qms.improvement.permissions import (
    TRANSITIONS,
    accepts_own_work,
    can_accept,
    can_add_evidence,
    can_assign,
    can_close,
    can_reject,
    in_quality_office,
    require_open,
    require_responsible,
    unfinished_actions,
)
from qms.improvement.validation import (
    choice,
    due,
    find_department,
    text,
    transition_rule,
    validate_clause,
)
from qms.models import utcnow
from qms.records import services as records_services
from qms.text import LONG_TEXT, within
from qms.uow import transactional

#: An uploaded file: its stream and the name the browser gave it.
Upload = tuple[IO[bytes], str | None]


def get_nc(number: str) -> Nonconformity:
    """Return the nonconformity ``number`` or raise :class:`NotFound`."""
    nc = db.session.scalar(select(Nonconformity).where(Nonconformity.number == number))
    if nc is None:
        raise NotFound(_("There is no nonconformity %(number)s.", number=number))
    return nc


def _pin_document(code: str) -> NcDocument:
    """Return a link to document ``code`` pinned to the revision in force today."""
    try:
        doc = documents_services.get_document(code.strip())
    except NotFound as exc:
        raise ValidationFailed(exc.message, field="documents") from exc
    rev = documents_services.effective_revision(doc)
    return NcDocument(code=doc.code, revision=rev.label if rev else None)


def _check_record(number: str) -> str:
    try:
        record = records_services.get_record(number)
    except ServiceError as exc:
        raise ValidationFailed(exc.message, field="records") from exc
    return record.number


def _provider(number: str | None):
    """Return the external provider numbered ``number`` (None for none)."""
    if not (number or "").strip():
        return None
    from qms.suppliers import services as suppliers

    try:
        return suppliers.get_supplier(number.strip())
    except NotFound as exc:
        raise ValidationFailed(exc.message, field="supplier") from None


# -- raising and assigning -------------------------------------------------------------


def _webhook_data(nc: Nonconformity) -> dict:
    """What the ``nc.raised`` webhook tells a receiver about a new NC."""
    return {
        "number": nc.number,
        "title": nc.title,
        "source": nc.source,
        "severity": nc.severity,
        "department": nc.department.name,
        "clause": nc.clause,
        "raised_by": nc.raised_by.username,
        "responsible": nc.responsible.username if nc.responsible else None,
        "due_date": nc.due_date,
    }


@transactional
def raise_nc(
    actor: User,
    title: str,
    description: str,
    source: str,
    department: str | None = None,
    clause: str | None = None,
    severity: str | None = None,
    responsible: str | None = None,
    due_date: date | None = None,
    documents: Iterable[str] = (),
    records: Iterable[str] = (),
    files: Iterable[Upload] = (),
    supplier: str | None = None,
) -> Nonconformity:
    """Raise a nonconformity; anyone may. Records, documents and files become its evidence.

    ``supplier`` names the external provider it is about, by number.

    A refused file refuses the whole report: no NC is kept without the evidence it came with.
    """
    title = text(title, "title", _("A title is required."), 300)
    description = text(description, "description", _("Describe what was found."))
    source = choice(source, SOURCES, "source")
    severity = choice(severity or "minor", SEVERITIES, "severity")
    dept = find_department(department, actor.department)
    clause = validate_clause(clause)
    owner = active_user_named(responsible, "responsible")
    due_date = due(due_date)
    provider = _provider(supplier)
    pinned, seen = [], set()
    for code in documents:
        if code and code.strip() and code.strip() not in seen:
            seen.add(code.strip())
            pinned.append(_pin_document(code))
    record_numbers = [r.strip() for r in records if r and r.strip()]
    record_numbers = [_check_record(r) for r in dict.fromkeys(record_numbers)]
    year = clock.today().year
    number = f"NC-{year}-{next_number(f'NC-{year}'):04d}"
    nc = Nonconformity(
        number=number,
        title=title,
        description=description,
        source=source,
        severity=severity,
        department=dept,
        clause=clause,
        raised_by_id=actor.id,
        responsible=owner,
        due_date=due_date,
        documents=pinned,
        supplier_id=provider.id if provider else None,
    )
    db.session.add(nc)
    db.session.flush()
    trail.record(
        "nc.raised",
        "nonconformity",
        number,
        after={
            "title": title,
            "source": source,
            "severity": severity,
            "department": dept.name,
            "clause": clause,
            "responsible": owner.username if owner else None,
            "due_date": due_date,
            "documents": [f"{d.code}/{d.revision or '-'}" for d in pinned],
            "supplier": provider.number if provider else None,
        },
        user=actor,
    )
    for record_number in record_numbers:
        _add_record(actor, nc, record_number)
    for stream, filename in files:
        _add_file(actor, nc, stream, filename, field="files")
    webhooks.emit("nc.raised", _webhook_data(nc))
    if owner is not None:
        mail.send_assignment(owner, nc)
    return nc


@transactional
def assign(
    actor: User, nc: Nonconformity, responsible: str | None, due_date: date | None
) -> Nonconformity:
    """Name the responsible person and due date; the quality office decides who works an NC."""
    if not can_assign(actor, nc):
        require_open(nc)
        raise PermissionDenied(_("Only the quality office assigns a nonconformity."))
    owner = active_user_named(responsible, "responsible")
    if owner is None:
        raise ValidationFailed(_("Name the responsible person."), field="responsible")
    if due_date != nc.due_date:
        due_date = due(due_date)
    before = {
        "responsible": nc.responsible.username if nc.responsible else None,
        "due_date": nc.due_date,
    }
    changed = owner.id != nc.responsible_id
    nc.responsible = owner
    nc.due_date = due_date
    trail.record(
        "nc.assigned",
        "nonconformity",
        nc.number,
        before=before,
        after={"responsible": owner.username, "due_date": due_date},
        user=actor,
    )
    if changed:
        mail.send_assignment(owner, nc)
    return nc


# -- evidence and documents concerned --------------------------------------------------


def _require_evidence(actor: User, nc: Nonconformity) -> None:
    if not can_add_evidence(actor, nc):
        require_open(nc)
        raise PermissionDenied(_("You may not add evidence to %(number)s.", number=nc.number))


@transactional
def add_document(actor: User, nc: Nonconformity, code: str) -> NcDocument:
    """Name a document concerned, pinned to its revision in force now."""
    _require_evidence(actor, nc)
    link = _pin_document(code or "")
    if link.code in nc.document_codes:
        raise Conflict(_("%(code)s is already named.", code=link.code), field="documents")
    nc.documents.append(link)
    trail.record(
        "nc.document_added",
        "nonconformity",
        nc.number,
        after={"document": link.code, "revision": link.revision},
        user=actor,
    )
    return link


def _add_record(actor: User, nc: Nonconformity, number: str) -> Evidence:
    if any(e.record_number == number for e in nc.evidence):
        raise Conflict(_("Record %(number)s is already linked.", number=number), field="records")
    evidence = Evidence(kind="record", record_number=number, added_by_id=actor.id)
    nc.evidence.append(evidence)
    trail.record(
        "nc.evidence_added", "nonconformity", nc.number, after={"record": number}, user=actor
    )
    # The link joins this unit of work: the NC and its evidence stand or fall together.
    records_services.link_record(number, "nonconformity", nc.number, actor)
    return evidence


@transactional
def add_record_evidence(actor: User, nc: Nonconformity, number: str) -> Evidence:
    """Link the filled record ``number`` to the NC as evidence."""
    _require_evidence(actor, nc)
    number = text(number, "records", _("Give the record number."), 40)
    return _add_record(actor, nc, _check_record(number))


@transactional
def add_link_evidence(actor: User, nc: Nonconformity, url: str, note: str = "") -> Evidence:
    """Add a web link (http or https) as evidence."""
    _require_evidence(actor, nc)
    url = text(url, "url", _("Give the address."), 500)
    if not re.match(r"^https?://[^\s/$.?#].[^\s]*$", url, re.IGNORECASE):
        raise ValidationFailed(_("Only http:// and https:// addresses are accepted."), field="url")
    evidence = Evidence(
        kind="link", url=url, note=(note or "").strip()[:300] or None, added_by_id=actor.id
    )
    nc.evidence.append(evidence)
    trail.record("nc.evidence_added", "nonconformity", nc.number, after={"link": url}, user=actor)
    return evidence


def _add_file(
    actor: User, nc: Nonconformity, stream: IO[bytes], filename: str | None, field: str
) -> Evidence:
    if stream is None or not (filename or "").strip():
        raise ValidationFailed(_("Choose a file to upload."), field=field)
    stored = attachments.save(stream, filename, field=field)
    evidence = Evidence(
        kind="attachment",
        filename=stored.name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        added_by_id=actor.id,
    )
    nc.evidence.append(evidence)
    trail.record(
        "nc.evidence_added",
        "nonconformity",
        nc.number,
        after={"file": stored.name, "sha256": stored.sha256, "size": stored.size},
        user=actor,
    )
    return evidence


@transactional
def add_attachment(
    actor: User, nc: Nonconformity, stream: IO[bytes], filename: str | None
) -> Evidence:
    """Store an uploaded file, streamed into the attachment store, as evidence.

    :raises ValidationFailed: no file, too large, or of a type that may not be attached.
    """
    _require_evidence(actor, nc)
    return _add_file(actor, nc, stream, filename, field="file")


def attachment_path(evidence: Evidence) -> Path:
    """Return where the file of an attachment is kept."""
    return attachments.path(evidence.sha256)


# -- the workflow ----------------------------------------------------------------------


@transactional
def transition(actor: User, nc: Nonconformity, to: str, **fields) -> Nonconformity:
    """Move the NC to state ``to`` with what that step needs, if ``actor`` may.

    Fields by step: containment -> analysis needs ``containment`` (what was done at once)
    and takes ``containment_by`` (username) and ``containment_on``; closing needs
    ``result``; reopening (effectiveness_check -> analysis) and rejecting need ``reason``.
    """
    who = transition_rule(TRANSITIONS, NC_STATES, nc.number, nc.state, to, nc_state_label)
    if who == "responsible":
        require_responsible(actor, nc)
    elif who == "office":
        allowed = can_reject(actor, nc) if to == "rejected" else can_accept(actor, nc)
        if not allowed:
            raise PermissionDenied(
                {
                    "action_plan": _("Only the quality office (an approver) accepts the analysis."),
                    "implementation": _("Only the quality office (an approver) accepts the plan."),
                    "rejected": _("Only the quality office (an approver) rejects a nonconformity."),
                }[to]
            )
    elif not can_close(actor, nc):
        if not in_quality_office(actor):
            raise PermissionDenied(_("Only the quality office (an approver) judges effectiveness."))
        raise PermissionDenied(
            _(
                "You carried out actions of %(number)s; someone else must check them.",
                number=nc.number,
            )
        )
    before = {"state": nc.state}
    after: dict = {"state": to}
    step = getattr(_Steps, f"{nc.state}__{to}", None)
    if step is not None:
        after.update(step(actor, nc, fields) or {})
    reopened = nc.state == "effectiveness_check" and to == "analysis"
    nc.state = to
    trail.record(
        "nc.reopened" if reopened else "nc.transition",
        "nonconformity",
        nc.number,
        before=before,
        after=after,
        user=actor,
    )
    return nc


class _Steps:
    """What each move checks and records beyond who makes it; returns trail details."""

    @staticmethod
    def reported__containment(actor, nc, fields):
        if (fields.get("containment") or "").strip():
            nc.containment = within(fields["containment"].strip(), LONG_TEXT, "containment")

    @staticmethod
    def containment__analysis(actor, nc, fields):
        done = text(
            fields.get("containment") or nc.containment,
            "containment",
            _("Record what was done at once to contain the problem."),
        )
        by = active_user_named(fields.get("containment_by"), "containment_by") or actor
        today = clock.today()
        on = fields.get("containment_on") or today
        if on > today:
            raise ValidationFailed(
                _("Containment cannot be dated in the future."), field="containment_on"
            )
        nc.containment, nc.containment_by, nc.containment_on = done, by, on
        return {"containment": done, "by": by.username, "on": on}

    @staticmethod
    def analysis__action_plan(actor, nc, fields):
        gaps = analysis_gaps(nc)
        if gaps:
            raise Conflict(
                _("The root-cause analysis is missing %(gaps)s.", gaps=", ".join(gaps)),
                field="analysis",
            )
        if accepts_own_work(actor, nc, "action_plan"):
            raise PermissionDenied(
                _("You wrote this analysis; another member of the quality office accepts it.")
            )
        nc.analysis_accepted_by_id = actor.id
        nc.analysis_accepted_at = utcnow()
        return {"comment": (fields.get("comment") or "").strip() or None}

    @staticmethod
    def action_plan__implementation(actor, nc, fields):
        if accepts_own_work(actor, nc, "implementation"):
            raise PermissionDenied(
                _("You made this plan; another member of the quality office accepts it.")
            )
        if not nc.actions:
            raise Conflict(_("The plan has no action yet."), field="actions")
        missing = [
            a.number
            for a in nc.actions
            if a.action_type in ("corrective", "preventive")
            and not (a.effectiveness_criteria or "").strip()
        ]
        if missing:
            raise Conflict(
                _(
                    "Give the effectiveness criteria of %(actions)s before the plan is accepted.",
                    actions=", ".join(missing),
                ),
                field="actions",
            )
        nc.plan_accepted_by_id = actor.id
        nc.plan_accepted_at = utcnow()
        return {"actions": [a.number for a in nc.actions]}

    @staticmethod
    def implementation__effectiveness_check(actor, nc, fields):
        unfinished = unfinished_actions(nc)
        if unfinished:
            raise Conflict(
                _("Actions not finished yet: %(actions)s.", actions=", ".join(unfinished)),
                field="actions",
            )

    @staticmethod
    def effectiveness_check__closed(actor, nc, fields):
        from qms.improvement.outputs import check_closable

        check_closable(nc)
        pending = [a.number for a in nc.actions if a.state != "verified_effective"]
        if pending:
            raise Conflict(
                _(
                    "Every action must be finished and verified effective first: %(actions)s.",
                    actions=", ".join(pending),
                ),
                field="actions",
            )
        result = text(
            fields.get("result"), "result", _("Record the result of the effectiveness check.")
        )
        nc.check_result, nc.checked_by_id, nc.closed_at = result, actor.id, utcnow()
        return {"result": result}

    @staticmethod
    def effectiveness_check__analysis(actor, nc, fields):
        if not any(a.state == "not_effective" for a in nc.actions):
            raise Conflict(
                _("Reopening needs an action found not effective; record that check first."),
                field="actions",
            )
        reason = text(fields.get("reason"), "reason", _("Give the reason for reopening."))
        nc.reopen_count += 1
        nc.analysis_accepted_by_id = nc.plan_accepted_by_id = None
        nc.analysis_accepted_at = nc.plan_accepted_at = None
        return {"reason": reason, "reopened": nc.reopen_count}

    @staticmethod
    def _reject(actor, nc, fields):
        reason = text(fields.get("reason"), "reason", _("Give the reason the report is unfounded."))
        nc.rejection_reason = reason
        return {"reason": reason}

    reported__rejected = containment__rejected = analysis__rejected = _reject


# -- lists and history -----------------------------------------------------------------


@dataclass
class NcFilters:
    state: str | None = None
    source: str | None = None
    department_id: int | None = None
    severity: str | None = None
    clause: str | None = None
    overdue: bool = False
    open_only: bool = False
    responsible_id: int | None = None
    supplier_id: int | None = None
    with_supplier: bool = False  # only NCs that name an external provider
    q: str | None = None


def list_ncs(filters: NcFilters | None = None, sort: str = "-raised_at"):
    """Return a select() over nonconformities with the given filters, for listing or paging."""
    f = filters or NcFilters()
    stmt = select(Nonconformity)
    if f.state:
        stmt = stmt.where(Nonconformity.state == f.state)
    if f.open_only:
        stmt = stmt.where(Nonconformity.state.in_(OPEN_NC_STATES))
    if f.source:
        stmt = stmt.where(Nonconformity.source == f.source)
    if f.department_id:
        stmt = stmt.where(Nonconformity.department_id == f.department_id)
    if f.severity:
        stmt = stmt.where(Nonconformity.severity == f.severity)
    if f.clause:
        # "8.5" matches NCs against 8.5 and any of its sub-clauses.
        stmt = stmt.where(
            or_(Nonconformity.clause == f.clause, Nonconformity.clause.like(f"{f.clause}.%"))
        )
    if f.overdue:
        stmt = stmt.where(
            Nonconformity.state.in_(OPEN_NC_STATES), Nonconformity.due_date < clock.today()
        )
    if f.responsible_id:
        stmt = stmt.where(Nonconformity.responsible_id == f.responsible_id)
    if f.supplier_id:
        stmt = stmt.where(Nonconformity.supplier_id == f.supplier_id)
    if f.with_supplier:
        stmt = stmt.where(Nonconformity.supplier_id.is_not(None))
    if f.q:
        pattern = f"%{f.q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Nonconformity.number).like(pattern),
                func.lower(Nonconformity.title).like(pattern),
            )
        )
    order = {
        "raised_at": Nonconformity.raised_at,
        "number": Nonconformity.number,
        "due_date": Nonconformity.due_date,
        "state": Nonconformity.state,
        "severity": Nonconformity.severity,
    }.get(sort.lstrip("-"), Nonconformity.raised_at)
    return stmt.order_by(order.desc() if sort.startswith("-") else order, Nonconformity.id)


def timeline(nc: Nonconformity) -> list:
    """Return every audit-trail event about the NC and its actions, oldest first."""
    # "nc.action_added" repeats what the action's own "action.created" event says.
    events = [
        e for e in trail.events_for("nonconformity", nc.number) if e.action != "nc.action_added"
    ]
    for action in nc.actions:
        events.extend(trail.events_for("action", action.number))
    return sorted(events, key=lambda e: e.seq)

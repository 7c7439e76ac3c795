"""Planning an audit: scope, criteria, an independent team, dates and meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.audits import checklists
from qms.audits.checklist import build_checklist, proposed_questions
from qms.audits.common import clauses_of, clean_text, department_named
from qms.audits.models import (
    AUDIT_TYPES,
    Audit,
    AuditClause,
    AuditDepartment,
    AuditDocument,
    AuditMember,
    AuditProgramme,
)
from qms.audits.permissions import PLAN_STATES, can_audit, can_plan, require
from qms.auth.models import Department, User
from qms.auth.services import active_user_named
from qms.database import next_number
from qms.documents import services as documents
from qms.documents.models import Document
from qms.errors import Conflict, NotFound, ValidationFailed
from qms.extensions import db
from qms.risks import services as risk_register
from qms.uow import transactional

# -- independence ----------------------------------------------------------------------


def independence_problems(
    auditors: list[User], departments: list[Department], docs: list[Document]
) -> list[tuple[User, str]]:
    """Return (auditor, reason) for every way an auditor would audit their own work.

    An auditor may not audit a department they belong to, nor a document in scope that
    their department owns (a process audit names no department, yet its criteria may be
    the auditor's own department's procedures), nor one whose revision in force they
    authored or signed as approved.
    """
    problems: list[tuple[User, str]] = []
    dept_ids = {d.id for d in departments}
    people = {doc.id: documents.authors_and_approvers(doc) for doc in docs}
    for user in auditors:
        if user.department_id in dept_ids:
            problems.append(
                (
                    user,
                    _(
                        "%(user)s cannot audit %(department)s: they belong to that department.",
                        user=user.display_name,
                        department=user.department.name,
                    ),
                )
            )
        for doc in docs:
            if doc.department_id == user.department_id and user.department_id not in dept_ids:
                problems.append(
                    (
                        user,
                        _(
                            "%(user)s cannot audit %(code)s: it is owned by their department, "
                            "%(department)s.",
                            user=user.display_name,
                            code=doc.code,
                            department=user.department.name,
                        ),
                    )
                )
            rev, authors, approvers = people[doc.id]
            if rev is None:
                continue
            if user.id in authors:
                problems.append(
                    (
                        user,
                        _(
                            "%(user)s cannot audit %(code)s: they authored its revision "
                            "%(rev)s, which is in the audit's scope.",
                            user=user.display_name,
                            code=doc.code,
                            rev=rev.label,
                        ),
                    )
                )
            elif user.id in approvers:
                problems.append(
                    (
                        user,
                        _(
                            "%(user)s cannot audit %(code)s: they approved its revision "
                            "%(rev)s, which is in the audit's scope.",
                            user=user.display_name,
                            code=doc.code,
                            rev=rev.label,
                        ),
                    )
                )
    return problems


def check_independence(
    lead: User, team: list[User], departments: list[Department], docs: list[Document]
) -> None:
    """Refuse, with every reason, a team that would audit its own work."""
    problems = independence_problems([lead, *team], departments, docs)
    if problems:
        field_name = "lead_auditor" if problems[0][0].id == lead.id else "team"
        raise ValidationFailed(
            " ".join(reason for _user, reason in problems),
            field=field_name,
            detail={field_name: [reason for _user, reason in problems]},
        )


# -- the plan --------------------------------------------------------------------------


def default_documents(departments: list[Department], clauses: list[str]) -> list[Document]:
    """Return the criteria an audit takes when none are named.

    The effective procedures and work specifications that address a clause in scope and,
    for an audit of departments, that one of them owns or works to (is in the document's
    distribution). A department's document on another clause, or another department's
    procedure, would only fill the checklist with steps nobody there follows.
    """
    dept_ids = {d.id for d in departments}
    docs = db.session.scalars(
        select(Document)
        .where(
            Document.status == "effective",
            Document.doc_type.in_(("procedure", "work_instruction")),
        )
        .order_by(Document.code)
    ).all()
    chosen = []
    for doc in docs:
        if not any(checklists.related(c, s) for c in doc.clauses for s in clauses):
            continue
        used = (
            doc.department_id in dept_ids
            or doc.distribute_to_all
            or any(row.department_id in dept_ids for row in doc.distribution)
        )
        if used or not dept_ids:
            chosen.append(doc)
    return chosen


def _documents(codes: list[str] | None, departments, clauses) -> list[Document]:
    if codes is None:
        return default_documents(departments, clauses)
    docs = []
    for code in dict.fromkeys(c.strip() for c in codes if c and c.strip()):
        try:
            doc = documents.get_document(code)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="documents") from exc
        if doc.status not in ("effective",):
            raise ValidationFailed(
                _("%(code)s has no revision in force to audit against.", code=code),
                field="documents",
            )
        docs.append(doc)
    return docs


def pin_revision(row: AuditDocument) -> None:
    """Pin a criterion to the revision of its document in force now."""
    rev = documents.effective_revision(row.document)
    row.revision = rev.label if rev else None
    row.commit = rev.release_commit if rev else None


@dataclass
class PlanData:
    """What a plan says, as the form or the API gives it."""

    title: str
    audit_type: str = "internal"
    departments: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    documents: list[str] | None = None
    lead_auditor: str = ""
    team: list[str] = field(default_factory=list)
    auditees: list[str] = field(default_factory=list)
    planned_start: date | None = None
    planned_end: date | None = None
    objectives: str = ""
    opening_meeting: datetime | None = None
    closing_meeting: datetime | None = None
    # Risks of the register taken as criteria, by number; None leaves them as they are.
    risks: list[str] | None = None


def meeting_time(value: datetime | None) -> datetime | None:
    """Return a meeting time as stored (UTC); a time without a zone is the office's own."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    return value.astimezone(UTC)


@dataclass
class _Plan:
    departments: list[Department]
    docs: list[Document]
    lead: User
    team: list[User]
    auditees: list[User]
    clauses: list[str]
    processes: list[str]


def _validate_plan(data: PlanData) -> _Plan:
    title = clean_text(data.title, "title", 300)
    if not title:
        raise ValidationFailed(_("A title is required."), field="title")
    data.title = title
    if data.audit_type not in AUDIT_TYPES:
        raise ValidationFailed(
            _("The type must be one of: %(types)s.", types=", ".join(AUDIT_TYPES)), field="type"
        )
    departments, processes, clauses = _scope(data)
    if data.planned_start is None or data.planned_end is None:
        raise ValidationFailed(_("Give the planned dates."), field="planned_start")
    if data.planned_end < data.planned_start:
        raise ValidationFailed(_("The audit cannot end before it starts."), field="planned_end")
    lead = active_user_named(data.lead_auditor, "lead_auditor")
    if lead is None:
        raise ValidationFailed(_("Name the lead auditor."), field="lead_auditor")
    team = [active_user_named(u, "team") for u in dict.fromkeys(data.team) if u and u.strip()]
    team = [u for u in team if u is not None and u.id != lead.id]
    for user in [lead, *team]:
        if not can_audit(user):
            raise ValidationFailed(
                _("%(user)s is not an auditor.", user=user.display_name),
                field="lead_auditor" if user is lead else "team",
            )
    auditees = [
        active_user_named(u, "auditees") for u in dict.fromkeys(data.auditees) if u and u.strip()
    ]
    auditees = [u for u in auditees if u is not None]
    if any(a.id in {lead.id, *(t.id for t in team)} for a in auditees):
        raise ValidationFailed(
            _("An auditor cannot also be an auditee of the same audit."), field="auditees"
        )
    docs = _documents(data.documents, departments, clauses)
    check_independence(lead, team, departments, docs)
    return _Plan(departments, docs, lead, team, auditees, clauses, processes)


def preview_checklist(data: PlanData) -> list[dict]:
    """Return the questions a plan would generate, without saving anything.

    Only the scope is checked (departments or processes, clauses, named documents), so a
    planner sees the count while the rest of the form is still being filled in.

    :raises ValidationFailed: the scope is missing or names what does not exist.
    """
    departments, _processes, clauses = _scope(data)
    return proposed_questions(clauses, _documents(data.documents, departments, clauses))


def _scope(data: PlanData) -> tuple[list, list[str], list[str]]:
    """Return the plan's departments, processes and clauses, refusing a scope that is empty."""
    departments = [department_named(n) for n in dict.fromkeys(n for n in data.departments if n)]
    processes = [p.strip()[:120] for p in dict.fromkeys(data.processes) if p and p.strip()]
    if not departments and not processes:
        raise ValidationFailed(
            _("Name at least one department or process to audit."), field="departments"
        )
    clauses = clauses_of(data.clauses)
    if not clauses:
        raise ValidationFailed(_("Name at least one clause to audit."), field="clauses")
    return departments, processes, clauses


def _members(plan: _Plan) -> list[AuditMember]:
    members = [AuditMember(user=plan.lead, role="lead")]
    members += [AuditMember(user=u, role="auditor") for u in plan.team]
    members += [AuditMember(user=u, role="auditee") for u in plan.auditees]
    return members


def _snapshot(audit: Audit) -> dict:
    return {
        "title": audit.title,
        "type": audit.audit_type,
        "departments": [d.name for d in audit.departments],
        "processes": list(audit.processes or []),
        "clauses": audit.clauses,
        "documents": [f"{r.document.code}/{r.revision or '-'}" for r in audit.document_rows],
        "lead_auditor": audit.lead_auditor.username,
        "team": [u.username for u in audit.team],
        "auditees": [u.username for u in audit.auditees],
        "planned_start": audit.planned_start,
        "planned_end": audit.planned_end,
    }


@transactional
def create_audit(actor: User, data: PlanData) -> Audit:
    """Plan an audit; the team must be independent of what it audits.

    :raises ValidationFailed: bad input, or an auditor would audit their own work
        (the message gives the reason).
    """
    require(can_plan(actor), None, (), _("Only auditors and the quality office plan audits."))
    plan = _validate_plan(data)
    year = data.planned_start.year
    ref = f"IA-{year}-{next_number(f'IA-{year}'):02d}"
    programme = db.session.scalar(select(AuditProgramme).where(AuditProgramme.year == year))
    audit = Audit(
        ref=ref,
        year=year,
        title=data.title,
        audit_type=data.audit_type,
        objectives=clean_text(data.objectives, "objectives")
        or (programme.objectives if programme else ""),
        processes=plan.processes,
        lead_auditor=plan.lead,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        opening_meeting=meeting_time(data.opening_meeting),
        closing_meeting=meeting_time(data.closing_meeting),
        created_by_id=actor.id,
        members=_members(plan),
        department_rows=[AuditDepartment(department=d) for d in plan.departments],
        clause_rows=[AuditClause(clause=c) for c in plan.clauses],
        document_rows=[AuditDocument(document=d) for d in plan.docs],
    )
    for row in audit.document_rows:
        pin_revision(row)
    db.session.add(audit)
    build_checklist(audit)
    db.session.flush()
    trail.record("audit.planned", "audit", ref, after=_snapshot(audit), user=actor)
    if data.risks:
        risk_register.set_audit_criteria(actor, ref, data.risks)
    return audit


@transactional
def update_plan(actor: User, audit: Audit, data: PlanData) -> Audit:
    """Change a plan that has not started; unanswered generated questions follow the scope."""
    if audit.state not in PLAN_STATES:
        raise Conflict(
            _("Audit %(ref)s has started; its plan can no longer change.", ref=audit.ref)
        )
    require(
        can_plan(actor, audit),
        audit,
        PLAN_STATES,
        _("Only the lead auditor or the quality office changes this audit."),
    )
    before = _snapshot(audit)
    plan = _validate_plan(data)
    audit.title = data.title
    audit.audit_type = data.audit_type
    audit.objectives = clean_text(data.objectives, "objectives")
    audit.processes = plan.processes
    audit.lead_auditor = plan.lead
    audit.planned_start = data.planned_start
    audit.planned_end = data.planned_end
    audit.opening_meeting = meeting_time(data.opening_meeting)
    audit.closing_meeting = meeting_time(data.closing_meeting)
    audit.members = _members(plan)
    audit.department_rows = [AuditDepartment(department=d) for d in plan.departments]
    audit.clause_rows = [AuditClause(clause=c) for c in plan.clauses]
    audit.document_rows = [AuditDocument(document=d) for d in plan.docs]
    for row in audit.document_rows:
        pin_revision(row)
    db.session.flush()
    build_checklist(audit)
    trail.record(
        "audit.replanned", "audit", audit.ref, before=before, after=_snapshot(audit), user=actor
    )
    if data.risks is not None:
        risk_register.set_audit_criteria(actor, audit.ref, data.risks)
    return audit


# -- each person's work ----------------------------------------------------------------


def work_for(user: User) -> list[Audit]:
    """Return the audits ``user`` leads or is on the team of, planned or in progress."""
    member_of = select(AuditMember.audit_id).where(
        AuditMember.user_id == user.id, AuditMember.role.in_(("lead", "auditor"))
    )
    return list(
        db.session.scalars(
            select(Audit)
            .where(Audit.state.in_(("planned", "in_progress")), Audit.id.in_(member_of))
            .order_by(Audit.planned_start, Audit.ref)
        )
    )

"""The rules of internal auditing, used by both the pages and the API.

An audit is planned (scope, criteria, team), worked question by question, reported
(the lead auditor signs the report) and closed once its nonconformities are closed or
their action plans accepted. Nonconformities and actions belong to the improvement
domain and records to the records domain: this module reaches them only through
:mod:`qms.audits.links`, which wraps their public services.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms import trail
from qms.audits import checklists, links
from qms.audits.models import (
    AUDIT_STATES,
    AUDIT_TYPES,
    NC_RESULTS,
    RESULTS,
    RISK_LEVELS,
    UNIT_KINDS,
    Audit,
    AuditAttachment,
    AuditClause,
    AuditDepartment,
    AuditDocument,
    AuditMember,
    AuditProgramme,
    AuditQuestion,
    ProgrammeUnit,
)
from qms.auth.models import Department, User
from qms.auth.services import verify_password
from qms.database import next_number
from qms.documents import services as documents
from qms.documents.models import Document
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow

PLANNER_ROLES = ("auditor", "approver", "admin")
# Who may close an audit besides its lead auditor: the quality office.
CLOSER_ROLES = ("approver",)
# The NC states in which its action plan has been accepted by the quality office.
PLAN_ACCEPTED_STATES = ("implementation", "effectiveness_check", "closed", "rejected")
MAX_TEXT = 20000


# -- labels ----------------------------------------------------------------------------


def type_label(audit_type: str) -> str:
    return {
        "internal": _("internal"),
        "external": _("external"),
        "supplier": _("supplier"),
    }.get(audit_type, audit_type)


def state_label(state: str) -> str:
    return {
        "planned": _("planned"),
        "in_progress": _("in progress"),
        "reported": _("reported"),
        "closed": _("closed"),
    }.get(state, state)


def result_label(result: str | None) -> str:
    return {
        "conforming": _("Conforming"),
        "major_nc": _("Major NC"),
        "minor_nc": _("Minor NC"),
        "observation": _("Observation"),
        "ofi": _("Opportunity for improvement"),
        "not_audited": _("Not audited"),
        None: _("Not answered yet"),
    }.get(result, result or "")


def risk_label(risk: str) -> str:
    return {"low": _("low"), "medium": _("medium"), "high": _("high")}.get(risk, risk)


def kind_label(kind: str) -> str:
    return {"department": _("Department"), "process": _("Process")}.get(kind, kind)


def source_label(source: str) -> str:
    return {
        "checklist": _("ISO 9001 checklist"),
        "procedure": _("Procedure"),
        "auditor": _("Auditor's question"),
    }.get(source, source)


# -- lookups ---------------------------------------------------------------------------


def get_audit(ref: str) -> Audit:
    """Return the audit ``ref`` (e.g. IA-2026-01) or raise :class:`NotFound`."""
    audit = db.session.scalar(select(Audit).where(Audit.ref == (ref or "").strip().upper()))
    if audit is None:
        raise NotFound(_("There is no audit %(ref)s.", ref=ref))
    return audit


def get_question(audit: Audit, seq: int | str) -> AuditQuestion:
    """Return question number ``seq`` of the audit's checklist or raise :class:`NotFound`."""
    try:
        number = int(seq)
    except (TypeError, ValueError):
        number = -1
    question = db.session.scalar(
        select(AuditQuestion).where(AuditQuestion.audit_id == audit.id, AuditQuestion.seq == number)
    )
    if question is None:
        raise NotFound(
            _("Audit %(ref)s has no question %(seq)s.", ref=audit.ref, seq=seq), field="question"
        )
    return question


def list_audits(year: int | None = None, state: str | None = None, q: str | None = None):
    """Return a select() over audits, newest first, with the given filters."""
    stmt = select(Audit)
    if year:
        stmt = stmt.where(Audit.year == year)
    if state:
        stmt = stmt.where(Audit.state == state)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Audit.ref).like(pattern), func.lower(Audit.title).like(pattern))
        )
    return stmt.order_by(Audit.planned_start.desc(), Audit.ref.desc())


def _user(username: str | None, field_name: str) -> User | None:
    username = (username or "").strip()
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise ValidationFailed(_("There is no user %(name)s.", name=username), field=field_name)
    return user


def _department(name: str, field_name: str = "departments") -> Department:
    dept = db.session.scalar(select(Department).where(Department.name == (name or "").strip()))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field=field_name)
    return dept


def _clauses(values, field_name: str = "clauses") -> list[str]:
    try:
        return documents.validate_clauses(values or [])
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field_name) from exc


def _text(value: str | None, limit: int = MAX_TEXT) -> str:
    return (value or "").strip()[:limit]


# -- independence ----------------------------------------------------------------------


def independence_problems(
    auditors: list[User], departments: list[Department], docs: list[Document]
) -> list[tuple[User, str]]:
    """Return (auditor, reason) for every way an auditor would audit their own work.

    An auditor may not audit a department they belong to, nor a document in scope whose
    revision in force they authored or signed as approved.
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


# -- planning --------------------------------------------------------------------------


def default_documents(departments: list[Department], clauses: list[str]) -> list[Document]:
    """Return the criteria an audit takes when none are named.

    The effective procedures and work specifications owned by a department in scope,
    and the procedures serving a clause in scope.
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
        serves = doc.doc_type == "procedure" and any(
            checklists.related(c, s) for c in doc.clauses for s in clauses
        )
        if doc.department_id in dept_ids or serves:
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


def _pin(row: AuditDocument) -> None:
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
    title = _text(data.title, 300)
    if not title:
        raise ValidationFailed(_("A title is required."), field="title")
    data.title = title
    if data.audit_type not in AUDIT_TYPES:
        raise ValidationFailed(
            _("The type must be one of: %(types)s.", types=", ".join(AUDIT_TYPES)), field="type"
        )
    departments = [_department(n) for n in dict.fromkeys(n for n in data.departments if n)]
    processes = [p.strip()[:120] for p in dict.fromkeys(data.processes) if p and p.strip()]
    if not departments and not processes:
        raise ValidationFailed(
            _("Name at least one department or process to audit."), field="departments"
        )
    clauses = _clauses(data.clauses)
    if not clauses:
        raise ValidationFailed(_("Name at least one clause to audit."), field="clauses")
    if data.planned_start is None or data.planned_end is None:
        raise ValidationFailed(_("Give the planned dates."), field="planned_start")
    if data.planned_end < data.planned_start:
        raise ValidationFailed(_("The audit cannot end before it starts."), field="planned_end")
    lead = _user(data.lead_auditor, "lead_auditor")
    if lead is None:
        raise ValidationFailed(_("Name the lead auditor."), field="lead_auditor")
    team = [_user(u, "team") for u in dict.fromkeys(data.team) if u and u.strip()]
    team = [u for u in team if u is not None and u.id != lead.id]
    for user in [lead, *team]:
        if not user.has_role("auditor"):
            raise ValidationFailed(
                _("%(user)s is not an auditor.", user=user.display_name),
                field="lead_auditor" if user is lead else "team",
            )
    auditees = [_user(u, "auditees") for u in dict.fromkeys(data.auditees) if u and u.strip()]
    auditees = [u for u in auditees if u is not None]
    if any(a.id in {lead.id, *(t.id for t in team)} for a in auditees):
        raise ValidationFailed(
            _("An auditor cannot also be an auditee of the same audit."), field="auditees"
        )
    docs = _documents(data.documents, departments, clauses)
    check_independence(lead, team, departments, docs)
    return _Plan(departments, docs, lead, team, auditees, clauses, processes)


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


def create_audit(actor: User, data: PlanData) -> Audit:
    """Plan an audit; the team must be independent of what it audits.

    :raises ValidationFailed: bad input, or an auditor would audit their own work
        (the message gives the reason).
    """
    if not actor.has_role(*PLANNER_ROLES):
        raise PermissionDenied(_("Only auditors and the quality office plan audits."))
    plan = _validate_plan(data)
    year = data.planned_start.year
    ref = f"IA-{year}-{next_number(f'IA-{year}'):02d}"
    programme = db.session.scalar(select(AuditProgramme).where(AuditProgramme.year == year))
    audit = Audit(
        ref=ref,
        year=year,
        title=data.title,
        audit_type=data.audit_type,
        objectives=_text(data.objectives) or (programme.objectives if programme else ""),
        processes=plan.processes,
        lead_auditor=plan.lead,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        opening_meeting=data.opening_meeting,
        closing_meeting=data.closing_meeting,
        created_by_id=actor.id,
        members=_members(plan),
        department_rows=[AuditDepartment(department=d) for d in plan.departments],
        clause_rows=[AuditClause(clause=c) for c in plan.clauses],
        document_rows=[AuditDocument(document=d) for d in plan.docs],
    )
    for row in audit.document_rows:
        _pin(row)
    db.session.add(audit)
    _build_checklist(audit)
    db.session.flush()
    trail.record("audit.planned", "audit", ref, after=_snapshot(audit), user=actor)
    db.session.commit()
    return audit


def update_plan(actor: User, audit: Audit, data: PlanData) -> Audit:
    """Change a plan that has not started; unanswered generated questions follow the scope."""
    _require_planner_of(actor, audit)
    if audit.state != "planned":
        raise Conflict(
            _("Audit %(ref)s has started; its plan can no longer change.", ref=audit.ref)
        )
    before = _snapshot(audit)
    plan = _validate_plan(data)
    audit.title = data.title
    audit.audit_type = data.audit_type
    audit.objectives = _text(data.objectives)
    audit.processes = plan.processes
    audit.lead_auditor = plan.lead
    audit.planned_start = data.planned_start
    audit.planned_end = data.planned_end
    audit.opening_meeting = data.opening_meeting
    audit.closing_meeting = data.closing_meeting
    audit.members = _members(plan)
    audit.department_rows = [AuditDepartment(department=d) for d in plan.departments]
    audit.clause_rows = [AuditClause(clause=c) for c in plan.clauses]
    audit.document_rows = [AuditDocument(document=d) for d in plan.docs]
    for row in audit.document_rows:
        _pin(row)
    db.session.flush()
    _build_checklist(audit)
    trail.record(
        "audit.replanned", "audit", audit.ref, before=before, after=_snapshot(audit), user=actor
    )
    db.session.commit()
    return audit


def _require_planner_of(actor: User, audit: Audit) -> None:
    if actor.id != audit.lead_auditor_id and not actor.has_role("approver", "admin"):
        raise PermissionDenied(_("Only the lead auditor or the quality office changes this audit."))


# -- the checklist ---------------------------------------------------------------------


def _build_checklist(audit: Audit) -> None:
    """Take questions from the checklist data and the procedures in scope.

    Questions already answered, and the auditor's own, are kept; the other generated
    ones are replaced by what the current scope calls for.
    """
    kept = [q for q in audit.questions if q.source == "auditor" or q.result is not None]
    for q in list(audit.questions):
        if q not in kept:
            audit.questions.remove(q)
    have = {(q.source, q.source_ref) for q in kept}
    seq = max((q.seq for q in kept), default=0)
    fresh = []
    for item in checklists.questions_for(audit.clauses):
        if ("checklist", item.id) not in have:
            fresh.append(
                dict(
                    source="checklist",
                    source_ref=item.id,
                    clause=item.clause,
                    text=item.text["en"],
                    evidence_hint=item.hint.get("en"),
                )
            )
    for row in audit.document_rows:
        doc = row.document
        if doc.doc_type not in ("procedure", "work_instruction"):
            continue
        rev = documents.effective_revision(doc)
        if rev is None:
            continue
        clause = doc.clauses[0] if doc.clauses else None
        for step in checklists.steps_of(documents.revision_content(rev)):
            ref = f"{doc.code} {step.ref}"[:80]
            if ("procedure", ref) not in have:
                fresh.append(
                    dict(
                        source="procedure",
                        source_ref=ref,
                        clause=clause,
                        document_code=doc.code,
                        text=step.text,
                    )
                )
    for values in fresh:
        seq += 1
        audit.questions.append(AuditQuestion(seq=seq, **values))


def question_text(question: AuditQuestion, lang: str) -> str:
    """Return the question in ``lang`` where the checklist data has it."""
    if question.source == "checklist":
        item = _checklist_item(question.source_ref)
        if item is not None:
            return item.text_in(lang)
    return question.text


def question_hint(question: AuditQuestion, lang: str) -> str | None:
    if question.source == "checklist":
        item = _checklist_item(question.source_ref)
        if item is not None:
            return item.hint_in(lang)
    return question.evidence_hint


def _checklist_item(qid: str | None) -> checklists.ChecklistQuestion | None:
    for clause in checklists.load():
        for item in clause.questions:
            if item.id == qid:
                return item
    return None


def _require_auditor_of(actor: User, audit: Audit) -> None:
    if actor.id != audit.lead_auditor_id and actor.id not in {u.id for u in audit.team}:
        raise PermissionDenied(
            _("Only the audit team of %(ref)s records its findings.", ref=audit.ref)
        )


def _require_state(audit: Audit, *states: str) -> None:
    if audit.state not in states:
        raise Conflict(
            _(
                "Audit %(ref)s is %(state)s; this needs it to be %(needed)s.",
                ref=audit.ref,
                state=state_label(audit.state),
                needed=" / ".join(state_label(s) for s in states),
            )
        )


def add_question(actor: User, audit: Audit, text: str, clause: str | None = None) -> AuditQuestion:
    """Add the auditor's own question to the checklist."""
    _require_auditor_of(actor, audit)
    _require_state(audit, "planned", "in_progress")
    text = _text(text, 4000)
    if not text:
        raise ValidationFailed(_("Write the question."), field="text")
    clause_list = _clauses([clause] if clause else [], "clause")
    question = _new_question(audit, "auditor", text, clause_list[0] if clause_list else None)
    trail.record(
        "audit.question_added",
        "audit",
        audit.ref,
        after={"seq": question.seq, "text": text, "clause": question.clause},
        user=actor,
    )
    db.session.commit()
    return question


def _new_question(audit: Audit, source: str, text: str, clause: str | None) -> AuditQuestion:
    seq = (
        db.session.scalar(
            select(func.max(AuditQuestion.seq)).where(AuditQuestion.audit_id == audit.id)
        )
        or 0
    ) + 1
    question = AuditQuestion(seq=seq, source=source, text=text, clause=clause)
    audit.questions.append(question)
    db.session.flush()
    return question


# -- findings --------------------------------------------------------------------------


def _documents_for(audit: Audit, question: AuditQuestion) -> list[str]:
    """Return the codes of the criteria a finding concerns: its procedure, else by clause."""
    if question.document_code:
        return [question.document_code]
    if not question.clause:
        return []
    return [
        row.document.code
        for row in audit.document_rows
        if any(checklists.related(question.clause, c) for c in row.document.clauses)
    ]


def record_finding(
    actor: User,
    audit: Audit,
    result: str,
    evidence: str = "",
    question: AuditQuestion | None = None,
    clause: str | None = None,
    text: str | None = None,
    records: list[str] | tuple = (),
    department: str | None = None,
    responsible: str | None = None,
    due_date: date | None = None,
) -> AuditQuestion:
    """Record the result of a question; a major or minor NC raises the NC ticket at once.

    Without ``question`` a new question is added to the checklist (``clause`` required).
    The NC is linked to the audit, the question, its clause and the documents concerned;
    its number is kept on the question.
    """
    _require_auditor_of(actor, audit)
    _require_state(audit, "in_progress")
    if result not in RESULTS:
        raise ValidationFailed(
            _("The result must be one of: %(results)s.", results=", ".join(RESULTS)),
            field="result",
        )
    evidence = _text(evidence)
    if result in NC_RESULTS + ("observation", "ofi") and not evidence:
        raise ValidationFailed(
            _("Write down the evidence: what was seen, where, and against which requirement."),
            field="evidence",
        )
    record_numbers = [r.strip()[:40] for r in dict.fromkeys(records or ()) if r and r.strip()]
    for number in record_numbers:
        links.check_record(number)
    if question is None:
        clause_list = _clauses([clause] if clause else [], "clause")
        if not clause_list:
            raise ValidationFailed(_("Name the clause of the finding."), field="clause")
        question = _new_question(
            audit,
            "auditor",
            _text(text, 4000) or _("Finding against clause %(clause)s", clause=clause_list[0]),
            clause_list[0],
        )
    elif clause:
        question.clause = _clauses([clause], "clause")[0]
    if question.nc_number and result not in NC_RESULTS:
        raise Conflict(
            _(
                "%(number)s was raised from this finding; settle it there (reject it as "
                "unfounded) rather than regrading the finding.",
                number=question.nc_number,
            ),
            field="result",
        )
    dept = _department(department, "department") if department else None
    if result in NC_RESULTS and dept is None:
        dept = audit.departments[0] if audit.departments else actor.department
    before = {"result": question.result, "evidence": question.evidence}
    question.result = result
    question.evidence = evidence
    question.records = record_numbers
    question.answered_by_id = actor.id
    question.answered_at = utcnow()
    trail.record(
        "audit.finding",
        "audit",
        audit.ref,
        before=before,
        after={
            "seq": question.seq,
            "result": result,
            "evidence": evidence,
            "records": record_numbers,
        },
        user=actor,
    )
    db.session.flush()
    if result in NC_RESULTS and not question.nc_number:
        _raise_nc(actor, audit, question, dept, responsible, due_date)
    else:
        db.session.commit()
    for number in record_numbers:
        links.link_record(number, "audit", f"{audit.ref}/{question.seq}", actor)
    return question


def _raise_nc(actor, audit, question, dept, responsible, due_date) -> None:
    """Raise the NC in the same transaction as the finding, then keep its number."""
    lang = _lang()
    summary = question.evidence.splitlines()[0][:160]
    title = _(
        "%(ref)s, clause %(clause)s: %(summary)s",
        ref=audit.ref,
        clause=question.clause or "-",
        summary=summary,
    )
    description = "\n\n".join(
        [
            question.evidence,
            _(
                "Raised from internal audit %(ref)s (%(title)s), question %(seq)s: %(text)s",
                ref=audit.ref,
                title=audit.title,
                seq=question.seq,
                text=question_text(question, lang),
            ),
        ]
    )
    number = links.raise_nc(
        actor,
        title=title[:300],
        description=description,
        department=dept.name,
        clause=question.clause,
        severity="major" if question.result == "major_nc" else "minor",
        responsible=responsible,
        due_date=due_date,
        documents=_documents_for(audit, question),
        records=question.records,
        audit_ref=audit.ref,
        question_seq=question.seq,
    )
    question.nc_number = number
    trail.record(
        "audit.nc_raised",
        "audit",
        audit.ref,
        after={"seq": question.seq, "nonconformity": number},
        user=actor,
    )
    db.session.commit()


def raise_action(
    actor: User,
    audit: Audit,
    question: AuditQuestion,
    owner: str,
    due_date: date | None,
    title: str = "",
) -> str:
    """Turn an observation (preventive) or an opportunity (improvement) into an action."""
    _require_auditor_of(actor, audit)
    _require_state(audit, "in_progress", "reported")
    if question.result not in ("observation", "ofi"):
        raise Conflict(
            _("Only observations and opportunities for improvement become actions here."),
            field="result",
        )
    if question.action_ref:
        raise Conflict(
            _(
                "Action %(number)s was already created from this finding.",
                number=question.action_ref,
            )
        )
    title = _text(title, 300) or _(
        "%(ref)s, clause %(clause)s: %(summary)s",
        ref=audit.ref,
        clause=question.clause or "-",
        summary=question.evidence.splitlines()[0][:160],
    )
    number = links.create_action(
        actor,
        action_type="preventive" if question.result == "observation" else "improvement",
        title=title[:300],
        owner=owner,
        due_date=due_date,
        description=question.evidence,
        origin_ref=f"{audit.ref} Q{question.seq}",
    )
    question.action_ref = number
    trail.record(
        "audit.action_raised",
        "audit",
        audit.ref,
        after={"seq": question.seq, "action": number},
        user=actor,
    )
    db.session.commit()
    return number


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


# -- attachments -----------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Shown in the browser; anything else is downloaded, never rendered.
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")


def attachments_dir():
    from pathlib import Path

    return Path(current_app.config["QMS_INSTANCE"]) / "audit-attachments"


def attachment_path(attachment: AuditAttachment):
    """Return where an attachment's bytes live: named by their sha256, shared by duplicates."""
    digest = attachment.sha256
    return attachments_dir() / digest[:2] / digest


def add_attachment(
    actor: User,
    audit: Audit,
    question: AuditQuestion,
    filename: str,
    content_type: str | None,
    data: bytes,
) -> AuditAttachment:
    """Keep a photo or file as evidence for a question."""
    import os
    import tempfile

    _require_auditor_of(actor, audit)
    _require_state(audit, "in_progress")
    if not data:
        raise ValidationFailed(_("The file is empty."), field="file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(
            _("A file may be at most %(mb)s MB.", mb=MAX_ATTACHMENT_BYTES // (1024 * 1024)),
            field="file",
        )
    name = re.sub(r"[\\/\x00-\x1f]", "_", (filename or "").strip())[-255:] or "evidence"
    digest = hashlib.sha256(data).hexdigest()
    attachment = AuditAttachment(
        filename=name,
        content_type=(content_type or "application/octet-stream")[:120],
        size=len(data),
        sha256=digest,
        uploaded_by_id=actor.id,
    )
    path = attachments_dir() / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    question.attachments.append(attachment)
    trail.record(
        "audit.attachment_added",
        "audit",
        audit.ref,
        after={"seq": question.seq, "file": name, "sha256": digest, "size": len(data)},
        user=actor,
    )
    db.session.commit()
    return attachment


def get_attachment(audit: Audit, attachment_id: int) -> AuditAttachment:
    attachment = db.session.get(AuditAttachment, attachment_id)
    if attachment is None or attachment not in {a for q in audit.questions for a in q.attachments}:
        raise NotFound(_("There is no such attachment."))
    return attachment


# -- the report and the workflow -------------------------------------------------------


def save_report_text(
    actor: User, audit: Audit, summary: str, strengths: str, distribution: str
) -> Audit:
    """Write the parts of the report the auditor composes: summary, strengths, distribution."""
    _require_auditor_of(actor, audit)
    _require_state(audit, "planned", "in_progress")
    before = {"summary": audit.summary, "strengths": audit.strengths}
    audit.summary = _text(summary)
    audit.strengths = _text(strengths)
    audit.distribution = _text(distribution, 4000)
    trail.record(
        "audit.report_edited",
        "audit",
        audit.ref,
        before=before,
        after={"summary": audit.summary, "strengths": audit.strengths},
        user=actor,
    )
    db.session.commit()
    return audit


def transitions_for(user: User, audit: Audit) -> list[str]:
    """Return the states ``user`` may move the audit to now (rules still checked on moving)."""
    lead = user.id == audit.lead_auditor_id
    team = lead or user.id in {u.id for u in audit.team}
    return {
        "planned": ["in_progress"] if team else [],
        "in_progress": ["reported"] if lead else [],
        "reported": ["closed"] if lead or user.has_role(*CLOSER_ROLES) else [],
        "closed": [],
    }[audit.state]


def unanswered(audit: Audit) -> list[AuditQuestion]:
    return [q for q in audit.questions if q.result is None]


def open_ncs(audit: Audit) -> list[tuple[str, str | None]]:
    """Return (number, state) of each NC of the audit whose plan is not accepted yet."""
    result = []
    for q in audit.questions:
        if q.nc_number:
            state = links.nc_state(q.nc_number)
            if state not in PLAN_ACCEPTED_STATES:
                result.append((q.nc_number, state))
    return result


def transition(
    actor: User, audit: Audit, to: str, password: str | None = None, lang: str | None = None
) -> Audit:
    """Move the audit planned -> in progress -> reported -> closed, if ``actor`` may.

    Reporting is the lead auditor signing the report (password re-entered); closing needs
    every NC closed or its action plan accepted by the quality office.
    """
    if to not in AUDIT_STATES:
        raise ValidationFailed(
            _("Choose one of: %(states)s.", states=", ".join(AUDIT_STATES)), field="to"
        )
    order = list(AUDIT_STATES)
    if order.index(to) != order.index(audit.state) + 1:
        raise Conflict(
            _(
                "Audit %(ref)s is %(state)s; it cannot move to %(to)s from there.",
                ref=audit.ref,
                state=state_label(audit.state),
                to=state_label(to),
            ),
            field="to",
        )
    before = audit.state
    after: dict = {"state": to}
    if to == "in_progress":
        _require_auditor_of(actor, audit)
        # The criteria are the revisions in force when the audit is done.
        for row in audit.document_rows:
            _pin(row)
        # A revision released since planning may be the work of someone on the team.
        check_independence(
            audit.lead_auditor,
            audit.team,
            audit.departments,
            [row.document for row in audit.document_rows],
        )
        audit.started_at = utcnow()
        after["documents"] = [f"{r.document.code}/{r.revision}" for r in audit.document_rows]
    elif to == "reported":
        if actor.id != audit.lead_auditor_id:
            raise PermissionDenied(_("Only the lead auditor signs the audit report."))
        missing = unanswered(audit)
        if missing:
            raise Conflict(
                _(
                    "%(count)s questions have no result yet (mark them not audited if they "
                    "were not): %(list)s.",
                    count=len(missing),
                    list=", ".join(str(q.seq) for q in missing[:20]),
                )
            )
        unraised = [q.seq for q in audit.questions if q.result in NC_RESULTS and not q.nc_number]
        if unraised:
            raise Conflict(
                _("Findings %(list)s have no NC raised yet.", list=", ".join(map(str, unraised)))
            )
        if not verify_password(actor, password or ""):
            raise PermissionDenied(
                _("The password is not correct; the report was not signed."), field="password"
            )
        audit.report_lang = lang if lang in ("en", "zh_Hans", "zh_Hant") else _lang()
        audit.report_signed_by_id = actor.id
        audit.report_signed_at = utcnow().replace(microsecond=0)
        from qms.audits.report import report_markdown

        audit.report_body = report_markdown(audit, audit.report_lang)
        audit.report_sha256 = hashlib.sha256(audit.report_body.encode("utf-8")).hexdigest()
        after.update(sha256=audit.report_sha256, lang=audit.report_lang)
    elif to == "closed":
        if actor.id != audit.lead_auditor_id and not actor.has_role(*CLOSER_ROLES):
            raise PermissionDenied(
                _("Only the lead auditor or the quality office closes an audit.")
            )
        pending = open_ncs(audit)
        if pending:
            raise Conflict(
                _(
                    "Audit %(ref)s cannot close: these nonconformities are neither closed nor "
                    "have an accepted action plan: %(list)s.",
                    ref=audit.ref,
                    list=", ".join(f"{n} ({links.nc_state_label(s)})" for n, s in pending),
                ),
                detail={"nonconformities": [n for n, _s in pending]},
            )
        audit.closed_at = utcnow()
    audit.state = to
    trail.record(
        "audit.transition", "audit", audit.ref, before={"state": before}, after=after, user=actor
    )
    db.session.commit()
    return audit


# -- the programme ---------------------------------------------------------------------


def get_programme(year: int) -> AuditProgramme | None:
    return db.session.scalar(select(AuditProgramme).where(AuditProgramme.year == year))


def _require_programme_owner(actor: User) -> None:
    if not actor.has_role("approver", "auditor", "admin"):
        raise PermissionDenied(_("Only auditors and the quality office keep the audit programme."))


def save_programme(
    actor: User, year: int, objectives: str, scope: str, criteria: str
) -> AuditProgramme:
    """Create or update the programme of ``year``: objectives, scope and criteria."""
    _require_programme_owner(actor)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed(_("Give a year between 2000 and 2100."), field="year")
    programme = get_programme(year)
    before = None
    if programme is None:
        programme = AuditProgramme(year=year, created_by_id=actor.id)
        db.session.add(programme)
    else:
        before = {
            "objectives": programme.objectives,
            "scope": programme.scope,
            "criteria": programme.criteria,
        }
    programme.objectives = _text(objectives)
    programme.scope = _text(scope)
    programme.criteria = _text(criteria)
    programme.updated_at = utcnow()
    trail.record(
        "programme.saved",
        "audit_programme",
        str(year),
        before=before,
        after={
            "objectives": programme.objectives,
            "scope": programme.scope,
            "criteria": programme.criteria,
        },
        user=actor,
    )
    db.session.commit()
    return programme


def suggested_frequency(risk: str, past_ncs: int) -> int:
    """Return audits per year for a unit: by risk, more where the last cycle found NCs.

    Low risk once a year, medium twice, high quarterly; one more with any NC found in the
    previous year, twice as often with three or more.
    """
    base = {"low": 1, "medium": 2, "high": 4}.get(risk, 2)
    if past_ncs >= 3:
        return min(base * 2, 12)
    if past_ncs >= 1:
        return base + 1
    return base


def save_unit(
    actor: User,
    programme: AuditProgramme,
    kind: str,
    name: str,
    risk: str = "medium",
    frequency: int | None = None,
    clauses=(),
    notes: str = "",
) -> ProgrammeUnit:
    """Add a department or process to the programme, or update it (same kind and name).

    Without ``frequency`` the suggested one is taken.
    """
    _require_programme_owner(actor)
    if kind not in UNIT_KINDS:
        raise ValidationFailed(_("Choose a department or a process."), field="kind")
    if risk not in RISK_LEVELS:
        raise ValidationFailed(
            _("The risk must be one of: %(levels)s.", levels=", ".join(RISK_LEVELS)), field="risk"
        )
    name = _text(name, 120)
    dept = None
    if kind == "department":
        dept = _department(name, "name")
    elif not name:
        raise ValidationFailed(_("Name the process."), field="name")
    clause_list = _clauses(clauses)
    unit = next((u for u in programme.units if u.kind == kind and u.name == name), None)
    if unit is None:
        unit = ProgrammeUnit(kind=kind, name=name, department=dept)
        programme.units.append(unit)
    if frequency in (None, ""):
        frequency = suggested_frequency(risk, past_ncs(unit, programme.year))
    if not 0 <= int(frequency) <= 52:
        raise ValidationFailed(_("Audits per year must be 0 to 52."), field="frequency")
    unit.risk = risk
    unit.frequency = int(frequency)
    unit.clauses = clause_list
    unit.notes = _text(notes, 2000)
    trail.record(
        "programme.unit_saved",
        "audit_programme",
        str(programme.year),
        after={
            "kind": kind,
            "name": name,
            "risk": risk,
            "frequency": unit.frequency,
            "clauses": clause_list,
        },
        user=actor,
    )
    db.session.commit()
    return unit


def remove_unit(actor: User, programme: AuditProgramme, unit_id: int) -> None:
    """Take a department or process out of the programme."""
    _require_programme_owner(actor)
    unit = next((u for u in programme.units if u.id == unit_id), None)
    if unit is None:
        raise NotFound(_("That entry is not in the programme."))
    programme.units.remove(unit)
    trail.record(
        "programme.unit_removed",
        "audit_programme",
        str(programme.year),
        before={"kind": unit.kind, "name": unit.name},
        user=actor,
    )
    db.session.commit()


def _covers_unit(audit: Audit, kind: str, name: str) -> bool:
    if kind == "department":
        return name in {d.name for d in audit.departments}
    return name in (audit.processes or [])


def past_ncs(unit: ProgrammeUnit, year: int) -> int:
    """Return how many NC findings the previous year's audits of this unit recorded."""
    audits = db.session.scalars(select(Audit).where(Audit.year == year - 1)).all()
    return sum(
        1
        for audit in audits
        if _covers_unit(audit, unit.kind, unit.name)
        for q in audit.questions
        if q.result in NC_RESULTS
    )


@dataclass
class CoverageRow:
    kind: str
    name: str
    unit: ProgrammeUnit | None
    # clause -> refs of the year's audits covering this row and clause
    cells: dict[str, list[str]]
    applicable: set[str]
    audits: list[str]

    @property
    def gaps(self) -> list[str]:
        """Clauses the programme expects audited here that no audit of the cycle covers."""
        return [c for c, refs in self.cells.items() if c in self.applicable and not refs]

    @property
    def in_programme(self) -> bool:
        return self.unit is not None

    @property
    def shortfall(self) -> int:
        """Audits still needed to reach the planned frequency."""
        planned = self.unit.frequency if self.unit else 1
        return max(planned - len(self.audits), 0)


@dataclass
class Coverage:
    year: int
    clauses: list[str]
    rows: list[CoverageRow]

    @property
    def gaps(self) -> list[tuple[str, str, str]]:
        """(kind, name, clause) for every uncovered cell the programme calls for."""
        return [(r.kind, r.name, c) for r in self.rows for c in r.gaps]

    @property
    def groups(self) -> list[tuple[str, int]]:
        """(main clause number, how many columns) for the header above the columns."""
        spans: list[tuple[str, int]] = []
        for clause in self.clauses:
            top = clause.split(".")[0]
            if spans and spans[-1][0] == top:
                spans[-1] = (top, spans[-1][1] + 1)
            else:
                spans.append((top, 1))
        return spans

    @property
    def uncovered_clauses(self) -> list[str]:
        """Clauses no audit of the cycle covers anywhere."""
        return [c for c in self.clauses if not any(r.cells[c] for r in self.rows)]


def coverage(year: int) -> Coverage:
    """Return the coverage matrix of ``year``: departments and processes against 4.1-10.3.

    Rows are the programme's departments and processes, then any department left out of
    the programme (flagged). A cell lists the audits of the year whose scope includes the
    row and a clause overlapping the column; a gap is an applicable cell with none.
    """
    columns = checklists.main_clauses()
    programme = get_programme(year)
    audits = db.session.scalars(select(Audit).where(Audit.year == year).order_by(Audit.ref)).all()
    units = list(programme.units) if programme else []
    rows = [(u.kind, u.name, u) for u in units]
    named = {u.name for u in units if u.kind == "department"}
    for dept in db.session.scalars(select(Department).order_by(Department.name)):
        if dept.name not in named:
            rows.append(("department", dept.name, None))
    result = []
    for kind, name, unit in rows:
        covering = [a for a in audits if _covers_unit(a, kind, name)]
        cells = {
            col: [a.ref for a in covering if any(checklists.related(col, c) for c in a.clauses)]
            for col in columns
        }
        wanted = unit.clauses if unit and unit.clauses else None
        applicable = {
            col
            for col in columns
            if wanted is None or any(checklists.related(col, c) for c in wanted)
        }
        if unit is not None and unit.frequency == 0:
            applicable = set()
        result.append(CoverageRow(kind, name, unit, cells, applicable, [a.ref for a in covering]))
    return Coverage(year, columns, result)


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

"""The checklist of an audit: questions from the ISO 9001 data, the procedures in scope
and the auditors themselves."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import trail
from qms.audits import checklists
from qms.audits.common import clauses_of, clean_text
from qms.audits.models import Audit, AuditQuestion
from qms.audits.permissions import QUESTION_STATES, can_add_question, require
from qms.auth.models import User
from qms.documents import services as documents
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.uow import transactional


def build_checklist(audit: Audit) -> None:
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


def unanswered(audit: Audit) -> list[AuditQuestion]:
    return [q for q in audit.questions if q.result is None]


@transactional
def add_question(actor: User, audit: Audit, text: str, clause: str | None = None) -> AuditQuestion:
    """Add the auditor's own question to the checklist."""
    require(
        can_add_question(actor, audit),
        audit,
        QUESTION_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
    text = clean_text(text, "text", 4000)
    if not text:
        raise ValidationFailed(_("Write the question."), field="text")
    clause_list = clauses_of([clause] if clause else [], "clause")
    question = new_question(audit, "auditor", text, clause_list[0] if clause_list else None)
    trail.record(
        "audit.question_added",
        "audit",
        audit.ref,
        after={"seq": question.seq, "text": text, "clause": question.clause},
        user=actor,
    )
    return question


def new_question(audit: Audit, source: str, text: str, clause: str | None) -> AuditQuestion:
    """Append a question after the last one of the checklist."""
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

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
from qms.documents.models import Document
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.uow import transactional

# A checklist an auditor can work in a day or two: each document gives its first steps,
# and the whole list stops here (the ISO questions of the clauses come first).
MAX_STEPS_PER_DOCUMENT = 12
MAX_QUESTIONS = 60


def proposed_questions(clauses: list[str], docs: list[Document]) -> list[dict]:
    """Return the questions a plan on ``clauses`` with criteria ``docs`` generates, in order.

    The clause library's questions on those clauses, then the steps of each procedure or
    work specification in force among ``docs`` (the criteria, which by default are the
    documents the audited departments own or use that address the clauses). Each item
    holds the :class:`AuditQuestion` columns; at most :data:`MAX_QUESTIONS`.
    """
    proposed = [
        dict(
            source="checklist",
            source_ref=item.id,
            clause=item.clause,
            text=item.text["en"],
            evidence_hint=item.hint.get("en"),
        )
        for item in checklists.questions_for(clauses)
    ]
    for doc in docs:
        if doc.doc_type not in ("procedure", "work_instruction"):
            continue
        rev = documents.effective_revision(doc)
        if rev is None:
            continue
        # The question is asked against the clause of the audit that the document serves.
        served = [c for c in doc.clauses if any(checklists.related(c, a) for a in clauses)]
        clause = (served or doc.clauses or [None])[0]
        steps = checklists.steps_of(documents.revision_content(rev))
        for step in steps[:MAX_STEPS_PER_DOCUMENT]:
            proposed.append(
                dict(
                    source="procedure",
                    source_ref=f"{doc.code} {step.ref}"[:80],
                    clause=clause,
                    document_code=doc.code,
                    text=step.text,
                )
            )
    return proposed[:MAX_QUESTIONS]


def proposed_text(item: dict, lang: str) -> str:
    """Return a proposed question in ``lang`` where the checklist data has it."""
    if item["source"] == "checklist":
        found = _checklist_item(item["source_ref"])
        if found is not None:
            return found.text_in(lang)
    return item["text"]


def build_checklist(audit: Audit) -> None:
    """Take questions from the checklist data and the documents that are criteria.

    Questions already answered, and the auditor's own, are kept; the other generated
    ones are replaced by what the current scope calls for.
    """
    kept = [q for q in audit.questions if q.source == "auditor" or q.result is not None]
    for q in list(audit.questions):
        if q not in kept:
            audit.questions.remove(q)
    have = {(q.source, q.source_ref) for q in kept}
    seq = max((q.seq for q in kept), default=0)
    docs = [row.document for row in audit.document_rows]
    for values in proposed_questions(audit.clauses, docs):
        if (values["source"], values["source_ref"]) in have:
            continue
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

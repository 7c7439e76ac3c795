"""Findings: the result of each question, its evidence files, and the NC or action it raises.

Recording a finding is one unit of work with what it brings: its photos, the NC it
raises in the improvement domain and the records it cites. A refused photo therefore
leaves neither the finding nor its NC, and no file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import BinaryIO, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select

from qms import attachments, trail
from qms.audits import checklists, links
from qms.audits.checklist import new_question, question_text
from qms.audits.common import clauses_of, clean_text, department_named, lang
from qms.audits.models import NC_RESULTS, RESULTS, Audit, AuditAttachment, AuditQuestion
from qms.audits.permissions import (
    ACTION_STATES,
    CONDUCT_STATES,
    can_conduct,
    can_raise_action,
    require,
)
from qms.auth.models import User
from qms.errors import Conflict, NotFound, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

# Shown in the browser; anything else is downloaded, never rendered.
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")


class Upload(NamedTuple):
    """A file as it arrives: the stream to read it from and the name its sender gave."""

    stream: BinaryIO
    filename: str | None


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


@transactional
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
    files: Iterable[Upload] = (),
) -> AuditQuestion:
    """Record the result of a question with its evidence files; a major or minor NC raises
    the NC ticket in the same step.

    Without ``question`` a new question is added to the checklist (``clause`` required).
    The NC is linked to the audit, the question, its clause and the documents concerned;
    its number is kept on the question.

    :raises ValidationFailed: bad input, or a file the attachment store refuses (too
        large, or not a kind that may be attached; ``field="attachment"``): then nothing
        of the finding, its NC or its files is kept.
    """
    require(
        can_conduct(actor, audit),
        audit,
        CONDUCT_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
    if result not in RESULTS:
        raise ValidationFailed(
            _("The result must be one of: %(results)s.", results=", ".join(RESULTS)),
            field="result",
        )
    evidence = clean_text(evidence, "evidence")
    if result in NC_RESULTS + ("observation", "ofi") and not evidence:
        raise ValidationFailed(
            _("Write down the evidence: what was seen, where, and against which requirement."),
            field="evidence",
        )
    record_numbers = [r.strip()[:40] for r in dict.fromkeys(records or ()) if r and r.strip()]
    for number in record_numbers:
        links.check_record(number)
    # Files are checked before the finding is written; the unit of work removes them again
    # if anything later refuses it.
    stored = [attachments.save(f.stream, f.filename, field="attachment") for f in files]
    if question is None:
        clause_list = clauses_of([clause] if clause else [], "clause")
        if not clause_list:
            raise ValidationFailed(_("Name the clause of the finding."), field="clause")
        question = new_question(
            audit,
            "auditor",
            clean_text(text, "text", 4000)
            or _("Finding against clause %(clause)s", clause=clause_list[0]),
            clause_list[0],
        )
    elif clause:
        question.clause = clauses_of([clause], "clause")[0]
    if question.nc_number and result not in NC_RESULTS:
        raise Conflict(
            _(
                "%(number)s was raised from this finding; settle it there (reject it as "
                "unfounded) rather than regrading the finding.",
                number=question.nc_number,
            ),
            field="result",
        )
    dept = department_named(department, "department") if department else None
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
    for item in stored:
        _attach(actor, audit, question, item)
    if result in NC_RESULTS and not question.nc_number:
        _raise_nc(actor, audit, question, dept, responsible, due_date)
    for number in record_numbers:
        links.link_record(number, "audit", f"{audit.ref}/{question.seq}", actor)
    return question


def _raise_nc(actor, audit, question, dept, responsible, due_date) -> None:
    """Raise the NC in the finding's unit of work, then keep its number."""
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
                text=question_text(question, lang()),
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


@transactional
def raise_action(
    actor: User,
    audit: Audit,
    question: AuditQuestion,
    owner: str,
    due_date: date | None,
    title: str = "",
) -> str:
    """Turn an observation (preventive) or an opportunity (improvement) into an action."""
    require(
        can_raise_action(actor, audit),
        audit,
        ACTION_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
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
    title = clean_text(title, "title", 300) or _(
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
    return number


# -- evidence files ---------------------------------------------------------------------


@transactional
def add_attachment(
    actor: User, audit: Audit, question: AuditQuestion, stream: BinaryIO, filename: str | None
) -> AuditAttachment:
    """Keep a photo or file as evidence for a question, in the one attachment store."""
    require(
        can_conduct(actor, audit),
        audit,
        CONDUCT_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
    return _attach(actor, audit, question, attachments.save(stream, filename))


def _attach(
    actor: User, audit: Audit, question: AuditQuestion, stored: attachments.Stored
) -> AuditAttachment:
    attachment = AuditAttachment(
        filename=stored.name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=actor.id,
    )
    question.attachments.append(attachment)
    trail.record(
        "audit.attachment_added",
        "audit",
        audit.ref,
        after={
            "seq": question.seq,
            "file": stored.name,
            "sha256": stored.sha256,
            "size": stored.size,
        },
        user=actor,
    )
    return attachment


def get_attachment(audit: Audit, attachment_id: int) -> AuditAttachment:
    """Return an evidence file of ``audit`` whose bytes are in the store, or raise NotFound."""
    attachment = db.session.scalar(
        select(AuditAttachment)
        .join(AuditQuestion, AuditAttachment.question_id == AuditQuestion.id)
        .where(AuditAttachment.id == attachment_id, AuditQuestion.audit_id == audit.id)
    )
    if attachment is None or not attachments.exists(attachment.sha256):
        raise NotFound(_("There is no such attachment."))
    return attachment

"""The rules of document control, used by both the pages and the API.

Each public function that changes something is a unit of work (:mod:`qms.uow`): it
writes git objects and queues its ref moves as it goes, and the outermost call
publishes the refs and commits the database together, or neither.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import yaml
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms import clock, render, trail
from qms.auth.models import Department, User
from qms.auth.services import verify_password
from qms.database import next_number
from qms.documents.models import (
    DOC_TYPES,
    PARENT_TYPES,
    TYPE_FOLDERS,
    Acknowledgement,
    ChangeRequest,
    ChangeRequestDocument,
    Distribution,
    Document,
    DocumentClause,
    ReviewComment,
    Revision,
    Signature,
)
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import (
    MAIN,
    Person,
    draft_ref,
    format_message,
    tag_name,
)
from qms.models import utcnow
from qms.uow import store, transactional

CODE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,38}[A-Za-z0-9])?$")
CLAUSE_RE = re.compile(r"^(?:[4-9]|10)(?:\.\d{1,2}){0,3}$")
AUTHORING_ROLES = ("author", "approver", "admin")
# Codes that would shadow pages under /documents/.
RESERVED_CODES = {"new", "tree", "preview", "review-due", "change-requests"}


# -- the repository --------------------------------------------------------------------


def person(user: User) -> Person:
    return Person(user.display_name, user.email or f"{user.username}@users.qms.invalid")


# -- extension points ------------------------------------------------------------------

# Other domains hook in here (search indexes revisions, adoption adds provenance trailers)
# so that document control never imports them. Hooks run inside the caller's transaction.
REVISION_HOOKS: list[Callable[[str, Revision], None]] = []
RELEASE_TRAILERS: list[Callable[[Revision], list[tuple[str, str]]]] = []


def on_revision(hook: Callable[[str, Revision], None]) -> None:
    """Call ``hook(event, rev)`` when a revision becomes "effective" or goes "obsolete"."""
    if hook not in REVISION_HOOKS:
        REVISION_HOOKS.append(hook)


def add_release_trailers(provider: Callable[[Revision], list[tuple[str, str]]]) -> None:
    """Have ``provider(rev)`` add ``(key, value)`` trailers to each release commit."""
    if provider not in RELEASE_TRAILERS:
        RELEASE_TRAILERS.append(provider)


def _notify(event: str, rev: Revision) -> None:
    for hook in REVISION_HOOKS:
        hook(event, rev)


# -- lookups ---------------------------------------------------------------------------


def get_document(code: str) -> Document:
    """Return the document with ``code`` or raise :class:`NotFound`."""
    doc = db.session.scalar(select(Document).where(Document.code == code))
    if doc is None:
        raise NotFound(_("There is no document %(code)s.", code=code))
    return doc


def get_revision(doc: Document, label: str) -> Revision:
    rev = db.session.scalar(
        select(Revision).where(Revision.document_id == doc.id, Revision.label == label)
    )
    if rev is None:
        raise NotFound(_("%(code)s has no revision %(rev)s.", code=doc.code, rev=label))
    return rev


def open_revision(doc: Document) -> Revision | None:
    """Return the document's open draft (draft, in review or approved), if any."""
    return db.session.scalar(
        select(Revision).where(
            Revision.document_id == doc.id,
            Revision.status.in_(("draft", "in_review", "approved", "scheduled")),
        )
    )


def effective_revision(doc: Document) -> Revision | None:
    return db.session.scalar(
        select(Revision).where(
            Revision.document_id == doc.id, Revision.status.in_(("effective", "obsolete"))
        )
    )


def released_commit(rev: Revision) -> str | None:
    """Return the commit on main that released ``rev`` (None before release)."""
    return rev.release_commit


def revision_content(rev: Revision) -> str:
    """Return the Markdown file of a revision: released content, or the draft's latest save."""
    if rev.release_commit and rev.blob_id:
        # Released exactly as signed (release writes this blob; `qms check` verifies it):
        # reading the blob directly spares walking a tree of thousands of documents.
        return store().read_blob(rev.blob_id).decode("utf-8")
    commit = rev.release_commit or rev.head_commit
    if commit is None:
        return ""
    data = store().read(commit, rev.document.path)
    return (data or b"").decode("utf-8")


REGISTER_COLUMNS = [
    "code",
    "title",
    "type",
    "parent",
    "department",
    "clauses",
    "status",
    "revision",
    "effective_date",
    "review_interval_months",
    "next_review_due",
]


def register_rows(docs: Iterable[Document]) -> list[list]:
    """Return the register's rows (see REGISTER_COLUMNS) for ``docs``, as data."""
    return [
        [
            d.code,
            d.title,
            d.doc_type,
            d.parent.code if d.parent else "",
            d.department.name if d.department else "",
            " ".join(d.clauses),
            d.status,
            d.current_revision or "",
            d.effective_date or "",
            d.review_interval_months,
            d.next_review_due or "",
        ]
        for d in docs
    ]


def list_documents(
    doc_type: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    clause: str | None = None,
    due_for_review: bool = False,
    q: str | None = None,
    sort: str = "code",
):
    """Return a select() over the register with the given filters, for listing or paging."""
    stmt = select(Document)
    if doc_type:
        stmt = stmt.where(Document.doc_type == doc_type)
    if department_id:
        stmt = stmt.where(Document.department_id == department_id)
    if status:
        stmt = stmt.where(Document.status == status)
    if clause:
        # "7.5" matches documents serving 7.5 and any of its sub-clauses.
        stmt = stmt.where(
            Document.clause_rows.any(
                or_(DocumentClause.clause == clause, DocumentClause.clause.like(f"{clause}.%"))
            )
        )
    if due_for_review:
        stmt = stmt.where(Document.status == "effective", Document.next_review_due <= clock.today())
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Document.code).like(pattern), func.lower(Document.title).like(pattern))
        )
    order = {
        "code": Document.code,
        "title": Document.title,
        "type": Document.doc_type,
        "status": Document.status,
        "effective_date": Document.effective_date,
        "next_review_due": Document.next_review_due,
    }.get(sort.lstrip("-"), Document.code)
    return stmt.order_by(order.desc() if sort.startswith("-") else order, Document.code)


def tree() -> list[tuple[Document, int]]:
    """Return every document with its depth, in hierarchy order (the standard system table)."""
    # Only the columns the table shows: at thousands of documents, loading parents,
    # departments and clauses with each row would dominate the page.
    docs = db.session.execute(
        select(
            Document.id,
            Document.code,
            Document.title,
            Document.doc_type,
            Document.parent_id,
            Document.status,
            Document.current_revision,
        ).order_by(Document.code)
    ).all()
    children: dict[int | None, list] = {}
    for doc in docs:
        children.setdefault(doc.parent_id, []).append(doc)
    out: list[tuple[Document, int]] = []

    def walk(parent_id, depth):
        for doc in children.get(parent_id, []):
            out.append((doc, depth))
            walk(doc.id, depth + 1)

    walk(None, 0)
    return out


# -- validation ------------------------------------------------------------------------


def validate_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("A document code is required."), field="code")
    if (
        not CODE_RE.match(code)
        or ".." in code
        or code.endswith(".lock")
        or code.lower() in RESERVED_CODES
    ):
        raise ValidationFailed(
            _(
                "The code %(code)s is not valid: use letters, digits, dots and dashes only, "
                "starting and ending with a letter or digit.",
                code=code,
            ),
            field="code",
        )
    return code


def validate_clauses(clauses) -> list[str]:
    if isinstance(clauses, str):
        clauses = [c for c in re.split(r"[,\s;，]+", clauses) if c]
    result = []
    for clause in clauses or []:
        clause = str(clause).strip()
        if not CLAUSE_RE.match(clause):
            raise ValidationFailed(
                _("%(clause)s is not an ISO 9001:2015 clause (4 to 10.3).", clause=clause),
                field="clauses",
            )
        if clause not in result:
            result.append(clause)
    return result


@dataclass
class ParsedContent:
    meta: dict
    body: str


# Extra checks a domain adds for one document type, e.g. records checks a record form's
# field definitions; each raises ValidationFailed. Documents never imports those domains.
CONTENT_VALIDATORS: dict[str, list] = {}


def register_content_validator(doc_type: str, check) -> None:
    """Run ``check(meta, body)`` on every saved or submitted draft of ``doc_type``."""
    checks = CONTENT_VALIDATORS.setdefault(doc_type, [])
    if check not in checks:
        checks.append(check)


def validate_content(doc: Document, content: str) -> ParsedContent:
    """Check a draft's whole Markdown file; raise :class:`ValidationFailed` naming the problem."""
    limit = current_app.config["QMS_MAX_CONTENT_BYTES"]
    size = len(content.encode("utf-8"))
    if size > limit:
        raise ValidationFailed(
            _(
                "The document is %(size)s KB; the limit is %(limit)s KB.",
                size=size // 1024,
                limit=limit // 1024,
            ),
            field="content",
        )
    try:
        meta, body = render.split_front_matter(content)
    except render.FrontMatterError as exc:
        raise ValidationFailed(
            _("The front matter is not valid YAML: %(error)s", error=str(exc)), field="content"
        ) from exc
    if meta.get("code") not in (None, doc.code):
        raise ValidationFailed(
            _(
                "The front matter names code %(found)s but this is %(code)s.",
                found=meta.get("code"),
                code=doc.code,
            ),
            field="content",
        )
    if meta.get("type") not in (None, doc.doc_type):
        raise ValidationFailed(
            _(
                "The front matter names type %(found)s but this document is a %(type)s.",
                found=meta.get("type"),
                type=doc.doc_type,
            ),
            field="content",
        )
    if "clauses" in meta:
        validate_clauses(meta["clauses"] or [])
    problems = render.check_markdown(body)
    if problems:
        messages = {
            "script": _("Scripts are not allowed in documents: %(detail)s"),
            "event_handler": _("Event handlers are not allowed in documents: %(detail)s"),
            "unsafe_link": _("This link is not allowed in documents: %(detail)s"),
            "embedded_content": _("Embedded content is not allowed in documents: %(detail)s"),
        }
        text = " ".join(
            messages.get(kind, "%(detail)s") % {"detail": detail} for kind, detail in problems
        )
        raise ValidationFailed(text, field="content", detail=[d for _k, d in problems])
    for check in CONTENT_VALIDATORS.get(doc.doc_type, ()):
        check(meta, body)
    return ParsedContent(meta, body)


def blank_content(doc: Document) -> str:
    meta = {
        "code": doc.code,
        "title": doc.title,
        "type": doc.doc_type,
        "parent": doc.parent.code if doc.parent else None,
        "department": doc.department.name if doc.department else None,
        "clauses": doc.clauses,
    }
    meta = {k: v for k, v in meta.items() if v not in (None, [])}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n# {doc.title}\n\n"


# -- permissions -----------------------------------------------------------------------


def require_role(user: User, *roles: str) -> None:
    if not user.has_role(*roles):
        raise PermissionDenied(_("This needs the role: %(roles)s.", roles=", ".join(roles)))


def contributors(rev: Revision) -> set[int]:
    """Return the ids of everyone who opened or saved the revision: its authors."""
    ids = {rev.author_id}
    key = f"{rev.document.code}/{rev.label}"
    for event in trail.events_for("revision", key):
        if event.action in ("revision.opened", "revision.saved") and event.user_id:
            ids.add(event.user_id)
    return ids


def can_approve(user: User, rev: Revision) -> bool:
    return user.has_role("approver") and user.id not in contributors(rev)


def authors_and_approvers(doc: Document) -> tuple[Revision | None, set[int], set[int]]:
    """Return the revision in force (else the latest), and who authored and who approved it.

    Other domains use this to keep people independent of their own work (an auditor may
    not audit a document they wrote or signed as approved).
    """
    rev = effective_revision(doc) or db.session.scalar(
        select(Revision).where(Revision.document_id == doc.id).order_by(Revision.id.desc())
    )
    if rev is None:
        return None, set(), set()
    approvers = {s.user_id for s in rev.signatures if s.meaning == "approved"}
    return rev, contributors(rev), approvers


# -- the register ----------------------------------------------------------------------


def _department(name: str | None) -> Department | None:
    if not name:
        return None
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field="department")
    return dept


@transactional
def create_document(
    actor: User,
    code: str,
    title: str,
    doc_type: str,
    parent: str | None = None,
    department: str | None = None,
    clauses=(),
    review_interval_months: int = 12,
    distribution: list[str] | None = None,
) -> Document:
    """Add a document to the register; its first revision is then drafted."""
    require_role(actor, *AUTHORING_ROLES)
    code = validate_code(code)
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise ValidationFailed(_("A title of up to 300 characters is required."), field="title")
    if doc_type not in DOC_TYPES:
        raise ValidationFailed(
            _("The type must be one of: %(types)s.", types=", ".join(DOC_TYPES)), field="type"
        )
    if db.session.scalar(select(Document.id).where(func.lower(Document.code) == code.lower())):
        raise Conflict(_("Document %(code)s already exists.", code=code), field="code")
    parent_doc = None
    if parent:
        parent_doc = get_document(parent)
        if parent_doc.doc_type not in PARENT_TYPES[doc_type]:
            raise ValidationFailed(
                _(
                    "A %(type)s cannot sit under a %(parent)s.",
                    type=doc_type,
                    parent=parent_doc.doc_type,
                ),
                field="parent",
            )
    if not 1 <= int(review_interval_months) <= 120:
        raise ValidationFailed(
            _("The review interval must be 1 to 120 months."), field="review_interval_months"
        )
    doc = Document(
        code=code,
        title=title,
        doc_type=doc_type,
        parent=parent_doc,
        department=_department(department) or actor.department,
        review_interval_months=int(review_interval_months),
        clause_rows=[DocumentClause(clause=c) for c in validate_clauses(clauses)],
    )
    _set_distribution(doc, distribution)
    db.session.add(doc)
    db.session.flush()
    trail.record(
        "document.created",
        "document",
        code,
        after={"title": title, "type": doc_type, "parent": parent, "department": department},
        user=actor,
    )
    return doc


def set_clauses(doc: Document, clauses: list[str]) -> None:
    """Make the document serve exactly ``clauses``, touching only the rows that change."""
    for row in [r for r in doc.clause_rows if r.clause not in clauses]:
        doc.clause_rows.remove(row)
    have = set(doc.clauses)
    doc.clause_rows.extend(DocumentClause(clause=c) for c in clauses if c not in have)


def _set_distribution(doc: Document, names: list[str] | None) -> None:
    names = list(names or [])
    doc.distribute_to_all = "all" in names
    depts = [_department(n) for n in names if n != "all"]
    doc.distribution = [Distribution(department=d) for d in depts if d]


# -- drafts ----------------------------------------------------------------------------


def revision_label(index: int) -> str:
    """Return the label of the revision at ``index`` (0-based): A … Z, then AA, AB …"""
    label, n = "", index
    while True:
        label = string.ascii_uppercase[n % 26] + label
        n = n // 26 - 1
        if n < 0:
            return label


def next_label(doc: Document) -> str:
    """Return the label the document's next revision takes."""
    return revision_label(
        db.session.scalar(select(func.count()).where(Revision.document_id == doc.id))
    )


def _accepted_change_request(number: str | None) -> ChangeRequest | None:
    if not number:
        return None
    cr = db.session.scalar(select(ChangeRequest).where(ChangeRequest.number == number))
    if cr is None:
        raise ValidationFailed(
            _("There is no change request %(number)s.", number=number), field="change_request"
        )
    if cr.status != "accepted":
        raise ValidationFailed(
            _("Change request %(number)s is not accepted.", number=number), field="change_request"
        )
    return cr


@transactional
def open_draft(
    actor: User,
    doc: Document,
    from_blank: bool = False,
    change_request: str | None = None,
) -> Revision:
    """Start the document's next revision from the effective one, or from blank."""
    require_role(actor, *AUTHORING_ROLES)
    if doc.status == "obsolete":
        raise Conflict(_("%(code)s is obsolete; it cannot be revised.", code=doc.code))
    if open_revision(doc) is not None:
        raise Conflict(_("%(code)s already has an open draft; only one is allowed.", code=doc.code))
    cr = _accepted_change_request(change_request)
    current = effective_revision(doc)
    content = blank_content(doc) if from_blank or current is None else revision_content(current)
    label = next_label(doc)
    gitstore = store()
    blob = gitstore.write_blob(content.encode("utf-8"))
    head = gitstore.commit_on(
        draft_ref(doc.code, label),
        {doc.path: blob},
        _draft_message(doc, label, "Open draft", cr),
        person(actor),
        expected=None,
        start=gitstore.head(MAIN),
    )
    rev = Revision(
        document=doc, label=label, author_id=actor.id, head_commit=head, change_request=cr
    )
    db.session.add(rev)
    if doc.status != "effective":
        doc.status = "draft"
    db.session.flush()
    trail.record(
        "revision.opened",
        "revision",
        f"{doc.code}/{label}",
        after={"from": current.label if current and not from_blank else None},
        user=actor,
    )
    return rev


def _draft_message(
    doc: Document, label: str, subject: str, cr: ChangeRequest | None, extra=()
) -> str:
    return format_message(
        f"{doc.code} revision {label}: {subject}",
        trailers=[
            ("Document", doc.code),
            ("Revision", label),
            ("Change-Request", cr.number if cr else None),
            *extra,
        ],
    )


@transactional
def save_draft(
    actor: User,
    doc: Document,
    content: str,
    summary: str = "",
    base_commit: str | None = None,
    change_request: str | None = None,
    trailers: list[tuple[str, str]] | None = None,
) -> Revision:
    """Save the whole Markdown file as the next commit on the draft branch.

    ``base_commit`` is the draft head the editor started from; when someone saved in
    between, :class:`Conflict` is raised and nothing is overwritten. ``trailers`` are
    extra ``(key, value)`` lines for the commit message (e.g. where the text came from).
    """
    require_role(actor, *AUTHORING_ROLES)
    content = content.replace("\r\n", "\n")
    rev = open_revision(doc)
    if rev is None:
        rev = open_draft(actor, doc, from_blank=effective_revision(doc) is None)
        base_commit = None
    if rev.status != "draft":
        raise Conflict(
            _(
                "Revision %(rev)s is %(status)s; it can no longer be edited.",
                rev=rev.label,
                status=status_label(rev.status),
            )
        )
    if base_commit and base_commit != rev.head_commit:
        raise Conflict(
            _(
                "Someone saved this draft after you opened it. Your text is kept below; "
                "compare it with the latest revision before saving again."
            ),
            detail={"head": rev.head_commit},
        )
    parsed = validate_content(doc, content)
    cr = _accepted_change_request(change_request) if change_request else rev.change_request
    gitstore = store()
    blob = gitstore.write_blob(content.encode("utf-8"))
    head = gitstore.commit_on(
        draft_ref(doc.code, rev.label),
        {doc.path: blob},
        _draft_message(doc, rev.label, summary.strip() or "Save draft", cr, trailers or ()),
        person(actor),
        expected=rev.head_commit,
    )
    before = {"head": rev.head_commit}
    rev.head_commit = head
    rev.change_request = cr
    if summary.strip():
        rev.summary = summary.strip()
    trail.record(
        "revision.saved",
        "revision",
        f"{doc.code}/{rev.label}",
        before=before,
        after={"head": head, "title": parsed.meta.get("title")},
        user=actor,
    )
    return rev


@transactional
def submit(actor: User, doc: Document) -> Revision:
    """Send the draft for review; its content is frozen until approved or rejected."""
    require_role(actor, *AUTHORING_ROLES)
    rev = _revision_in(doc, "draft")
    content = revision_content(rev)
    validate_content(doc, content)
    if not rev.summary:
        raise ValidationFailed(
            _("Describe the change (the summary) before submitting."), field="summary"
        )
    rev.blob_id = store().blob_id(rev.head_commit, doc.path)
    rev.status = "in_review"
    rev.submitted_at = utcnow()
    if doc.status == "draft":
        doc.status = "in_review"
    trail.record(
        "revision.submitted",
        "revision",
        f"{doc.code}/{rev.label}",
        after={"blob": rev.blob_id},
        user=actor,
    )
    return rev


def _revision_in(doc: Document, *statuses: str) -> Revision:
    rev = open_revision(doc)
    if rev is None:
        raise Conflict(_("%(code)s has no open draft.", code=doc.code))
    if rev.status not in statuses:
        raise Conflict(
            _(
                "Revision %(rev)s is %(status)s; this step needs it to be %(needed)s.",
                rev=rev.label,
                status=status_label(rev.status),
                needed=" / ".join(status_label(s) for s in statuses),
            )
        )
    return rev


@transactional
def add_comment(actor: User, doc: Document, body: str) -> ReviewComment:
    """Add a review comment to the open revision."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("The comment is empty."), field="body")
    rev = _revision_in(doc, "draft", "in_review")
    comment = ReviewComment(revision_id=rev.id, user_id=actor.id, body=body)
    db.session.add(comment)
    trail.record(
        "revision.commented",
        "revision",
        f"{doc.code}/{rev.label}",
        after={"comment": body},
        user=actor,
    )
    return comment


def _check_password(actor: User, password: str) -> None:
    if not verify_password(actor, password or ""):
        raise PermissionDenied(
            _("The password is not correct; the signature was not applied."), field="password"
        )


def _sign(actor: User, rev: Revision, meaning: str, blob: str, comment: str | None) -> Signature:
    sig = Signature(
        revision_id=rev.id,
        user_id=actor.id,
        meaning=meaning,
        blob_id=blob,
        comment=(comment or "").strip() or None,
        signed_at=utcnow(),
    )
    db.session.add(sig)
    trail.record(
        f"revision.signed.{meaning}",
        "revision",
        f"{rev.document.code}/{rev.label}",
        after={"meaning": meaning, "blob": blob, "comment": sig.comment},
        user=actor,
    )
    return sig


@transactional
def sign_review(actor: User, doc: Document, password: str, comment: str | None = None):
    """Sign the revision in review as reviewed (not an approval)."""
    rev = _revision_in(doc, "in_review")
    if actor.id in contributors(rev):
        raise PermissionDenied(_("An author of a revision cannot review it."))
    _check_password(actor, password)
    sig = _sign(actor, rev, "reviewed", rev.blob_id, comment)
    return sig


@transactional
def approve(actor: User, doc: Document, password: str, comment: str | None = None) -> Revision:
    """Sign the revision in review as approved, with the password re-entered."""
    require_role(actor, "approver")
    rev = _revision_in(doc, "in_review")
    if actor.id in contributors(rev):
        raise PermissionDenied(_("The author of a revision cannot approve it."))
    _check_password(actor, password)
    if store().blob_id(rev.head_commit, doc.path) != rev.blob_id:
        raise Conflict(_("The draft changed after it was submitted; it cannot be approved."))
    _sign(actor, rev, "approved", rev.blob_id, comment)
    rev.status = "approved"
    return rev


@transactional
def reject(actor: User, doc: Document, reason: str) -> Revision:
    """Send the revision back to draft with a reason; the draft's text is kept."""
    require_role(actor, "approver")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for rejecting."), field="reason")
    rev = _revision_in(doc, "in_review", "approved")
    rev.status = "draft"
    rev.blob_id = None
    # Signatures were given over content that may now change: they no longer stand.
    for sig in list(rev.signatures):
        db.session.delete(sig)
    if doc.status == "in_review":
        doc.status = "draft"
    db.session.add(
        ReviewComment(revision_id=rev.id, user_id=actor.id, body=reason, kind="rejection")
    )
    trail.record(
        "revision.rejected",
        "revision",
        f"{doc.code}/{rev.label}",
        after={"reason": reason},
        user=actor,
    )
    return rev


@transactional
def release(
    actor: User, doc: Document, effective_date: date | None = None, allow_past: bool = False
) -> Revision:
    """Release the approved revision, effective today or on a later date.

    ``allow_past`` is for loading an existing system's history, never for users.
    """
    require_role(actor, "approver")
    rev = _revision_in(doc, "approved")
    today = clock.today()
    effective_date = effective_date or today
    if effective_date < today and not allow_past:
        raise ValidationFailed(
            _("The effective date cannot be in the past."), field="effective_date"
        )
    if store().blob_id(rev.head_commit, doc.path) != rev.blob_id:
        raise Conflict(_("The draft no longer matches the signed content; it cannot be released."))
    rev.effective_date = effective_date
    rev.released_at = utcnow()
    rev.released_by_id = actor.id
    if effective_date > today:
        rev.status = "scheduled"
        trail.record(
            "revision.scheduled",
            "revision",
            f"{doc.code}/{rev.label}",
            after={"effective_date": effective_date.isoformat()},
            user=actor,
        )
        return rev
    make_effective(rev, actor)
    return rev


def release_message(rev: Revision, previous: Revision | None, approvers: list[Signature]) -> str:
    doc = rev.document
    trailers = [
        ("Document", doc.code),
        ("Revision", rev.label),
        ("Previous-Revision", previous.label if previous else None),
        ("Title", doc.title),
        ("Type", doc.doc_type),
        ("Effective-Date", rev.effective_date.isoformat()),
        ("Change-Request", rev.change_request.number if rev.change_request else None),
        ("Authored-by", f"{rev.author.display_name} <{person(rev.author).email}>"),
    ]
    for sig in approvers:
        trailers.append(
            (
                f"{sig.meaning.replace('_', '-').capitalize()}-by",
                f"{sig.user.display_name} <{person(sig.user).email}> "
                f"{sig.signed_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            )
        )
    for provider in RELEASE_TRAILERS:
        trailers.extend(provider(rev))
    trailers.append(("Content-Blob", rev.blob_id))
    return format_message(
        f"Release {doc.code} revision {rev.label}: {doc.title}", rev.summary, trailers
    )


@transactional
def make_effective(rev: Revision, actor: User | None = None) -> None:
    """Put a released revision on main, tag it and supersede the previous one.

    Main, the tag and the draft branch's deletion are published together with the
    database's change, or not at all.
    """
    doc = rev.document
    previous = effective_revision(doc)
    gitstore = store()
    tag = tag_name(doc.code, rev.label)
    commit = gitstore.head(f"refs/tags/{tag}")
    if commit is None:
        signer = actor or rev.released_by or rev.author
        commit = gitstore.commit_on_main(
            {doc.path: rev.blob_id},
            release_message(rev, previous, [s for s in rev.signatures if s.meaning != "authored"]),
            person(signer),
            extra_parents=(rev.head_commit,) if rev.head_commit else (),
        )
        gitstore.create_tag(tag, commit, f"{doc.code} revision {rev.label}", person(signer))
    _apply_effective(rev, previous, commit)
    if rev.head_commit:
        gitstore.delete_ref(draft_ref(doc.code, rev.label))


def _apply_effective(rev: Revision, previous: Revision | None, commit: str) -> None:
    """Record in the database that ``rev`` is effective as of ``commit``."""
    doc = rev.document
    if previous is not None and previous.id != rev.id:
        previous.status = "superseded"
    rev.status = "effective"
    rev.release_commit = commit
    if rev.effective_date is None:
        rev.effective_date = clock.today()
    meta, _body = render.split_front_matter(revision_content(rev))
    if meta.get("title"):
        doc.title = str(meta["title"])[:300]
    if "clauses" in meta:
        set_clauses(doc, validate_clauses(meta["clauses"] or []))
    doc.status = "effective"
    doc.current_revision = rev.label
    doc.effective_date = rev.effective_date
    doc.next_review_due = add_months(rev.effective_date, doc.review_interval_months)
    if rev.change_request and rev.change_request.status == "accepted":
        rev.change_request.status = "implemented"
    trail.record(
        "revision.effective",
        "revision",
        f"{doc.code}/{rev.label}",
        before={"effective": previous.label if previous else None},
        after={"commit": commit, "effective_date": rev.effective_date.isoformat()},
        user=rev.released_by,
    )
    _notify("effective", rev)


@transactional
def apply_due_releases(today: date | None = None) -> list[Revision]:
    """Make effective every scheduled revision whose effective date has come."""
    today = today or clock.today()
    due = db.session.scalars(
        select(Revision).where(Revision.status == "scheduled", Revision.effective_date <= today)
    ).all()
    for rev in due:
        make_effective(rev, rev.released_by)
    return list(due)


@transactional
def obsolete(actor: User, doc: Document, reason: str) -> Document:
    """Withdraw an effective document; it stays retrievable from its tags, marked obsolete."""
    require_role(actor, "approver")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give the reason for making the document obsolete."), field="reason"
        )
    if doc.status != "effective":
        raise Conflict(_("Only an effective document can be made obsolete."))
    if open_revision(doc) is not None:
        raise Conflict(_("%(code)s has an open draft; finish or reject it first.", code=doc.code))
    rev = effective_revision(doc)
    commit = store().commit_on_main(
        {doc.path: None},
        format_message(
            f"Obsolete {doc.code}: {doc.title}",
            reason,
            [
                ("Document", doc.code),
                ("Revision", rev.label),
                ("Obsolete", "yes"),
                ("Obsoleted-by", f"{actor.display_name} <{person(actor).email}>"),
            ],
        ),
        person(actor),
    )
    rev.status = "obsolete"
    doc.status = "obsolete"
    doc.obsolete_reason = reason
    doc.next_review_due = None
    _notify("obsolete", rev)
    trail.record(
        "document.obsoleted",
        "document",
        doc.code,
        after={"reason": reason, "commit": commit},
        user=actor,
    )
    return doc


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(dom, day.day))
        except ValueError:
            continue
    return date(year, month, 28)


# -- periodic review and acknowledgement -----------------------------------------------


@transactional
def review_no_change(actor: User, doc: Document, password: str, note: str | None = None):
    """Record the periodic review "reviewed, no change" with a signature; reset the due date."""
    require_role(actor, "approver")
    if doc.status != "effective":
        raise Conflict(_("Only an effective document is reviewed periodically."))
    _check_password(actor, password)
    rev = effective_revision(doc)
    sig = _sign(actor, rev, "periodic_review", rev.blob_id, note)
    before = doc.next_review_due
    doc.next_review_due = add_months(clock.today(), doc.review_interval_months)
    trail.record(
        "document.reviewed",
        "document",
        doc.code,
        before={"next_review_due": before},
        after={"next_review_due": doc.next_review_due},
        user=actor,
    )
    return sig


def concerns(doc: Document, user: User) -> bool:
    """Return whether the user's department must read this document."""
    if doc.distribute_to_all:
        return True
    ids = {d.department_id for d in doc.distribution} | {doc.department_id}
    return user.department_id in ids


def readers(doc: Document) -> list[User]:
    """Return the active users who should read the document."""
    stmt = select(User).where(User.active.is_(True))
    if not doc.distribute_to_all:
        ids = {d.department_id for d in doc.distribution} | {doc.department_id}
        stmt = stmt.where(User.department_id.in_(ids))
    return list(db.session.scalars(stmt))


@transactional
def acknowledge(actor: User, doc: Document) -> Acknowledgement:
    """Record that the user has read the document's effective revision."""
    rev = effective_revision(doc)
    if rev is None or doc.status != "effective":
        raise Conflict(_("%(code)s has no effective revision to acknowledge.", code=doc.code))
    existing = db.session.scalar(
        select(Acknowledgement).where(
            Acknowledgement.revision_id == rev.id, Acknowledgement.user_id == actor.id
        )
    )
    if existing:
        return existing
    ack = Acknowledgement(revision_id=rev.id, user_id=actor.id)
    db.session.add(ack)
    trail.record("revision.acknowledged", "revision", f"{doc.code}/{rev.label}", user=actor)
    return ack


def acknowledgement_counts(rev: Revision) -> tuple[int, int]:
    """Return (acknowledged, expected) for a revision among the staff concerned."""
    expected = {u.id for u in readers(rev.document)}
    done = set(
        db.session.scalars(
            select(Acknowledgement.user_id).where(Acknowledgement.revision_id == rev.id)
        )
    )
    return len(done & expected), len(expected)


def reading_list(user: User) -> list[Document]:
    """Return the effective documents the user must read and has not acknowledged yet."""
    docs = db.session.scalars(
        select(Document).where(Document.status == "effective").order_by(Document.code)
    ).all()
    acked = set(
        db.session.scalars(
            select(Acknowledgement.revision_id).where(Acknowledgement.user_id == user.id)
        )
    )
    result = []
    for doc in docs:
        if not concerns(doc, user):
            continue
        rev = effective_revision(doc)
        if rev and rev.id not in acked:
            result.append(doc)
    return result


# -- change requests -------------------------------------------------------------------


@transactional
def raise_change_request(
    actor: User, title: str, reason: str, documents: list[str], source_ref: str | None = None
) -> ChangeRequest:
    """Raise a document change request; anyone may."""
    title, reason = (title or "").strip(), (reason or "").strip()
    if not title:
        raise ValidationFailed(_("A title is required."), field="title")
    if not reason:
        raise ValidationFailed(_("Give the reason for the change."), field="reason")
    docs = [get_document(c.strip()) for c in documents if c.strip()]
    if not docs:
        raise ValidationFailed(_("Name at least one document concerned."), field="documents")
    year = clock.today().year
    number = f"CR-{year}-{next_number(f'CR-{year}'):04d}"
    cr = ChangeRequest(
        number=number,
        title=title[:300],
        reason=reason,
        source_ref=(source_ref or "").strip() or None,
        raised_by_id=actor.id,
        document_rows=[ChangeRequestDocument(document=d) for d in docs],
    )
    db.session.add(cr)
    trail.record(
        "change_request.raised",
        "change_request",
        number,
        after={"documents": [d.code for d in docs], "reason": reason},
        user=actor,
    )
    return cr


@transactional
def decide_change_request(actor: User, cr: ChangeRequest, accept: bool, note: str = "") -> None:
    """Accept or decline an open change request."""
    require_role(actor, "approver")
    if cr.status != "open":
        raise Conflict(_("Change request %(number)s was already decided.", number=cr.number))
    if not accept and not (note or "").strip():
        raise ValidationFailed(_("Give the reason for declining."), field="note")
    cr.status = "accepted" if accept else "declined"
    cr.decided_by_id = actor.id
    cr.decided_at = utcnow()
    cr.decision_note = (note or "").strip() or None
    trail.record(
        "change_request.decided",
        "change_request",
        cr.number,
        before={"status": "open"},
        after={"status": cr.status, "note": cr.decision_note},
        user=actor,
    )


def get_change_request(number: str) -> ChangeRequest:
    cr = db.session.scalar(select(ChangeRequest).where(ChangeRequest.number == number))
    if cr is None:
        raise NotFound(_("There is no change request %(number)s.", number=number))
    return cr


def revisions_for_change_request(number: str) -> list[Revision]:
    """Return the revisions citing change request ``number``, oldest first (none if unknown)."""
    return list(
        db.session.scalars(
            select(Revision)
            .join(ChangeRequest, Revision.change_request_id == ChangeRequest.id)
            .where(ChangeRequest.number == number)
            .order_by(Revision.id)
        )
    )


# -- labels ----------------------------------------------------------------------------


def status_label(status: str) -> str:
    """Return a revision or document status in the user's language."""
    return {
        "draft": _("draft"),
        "in_review": _("in review"),
        "approved": _("approved"),
        "scheduled": _("released, not yet effective"),
        "effective": _("effective"),
        "superseded": _("superseded"),
        "obsolete": _("obsolete"),
    }.get(status, status)


def type_label(doc_type: str) -> str:
    return {
        "manual": _("Quality manual"),
        "procedure": _("Procedure"),
        "work_instruction": _("Work specification"),
        "record_form": _("Record form"),
        "external": _("External document"),
    }.get(doc_type, doc_type)


def meaning_label(meaning: str) -> str:
    return {
        "authored": _("authored"),
        "reviewed": _("reviewed"),
        "approved": _("approved"),
        "verified": _("verified"),
        "periodic_review": _("reviewed, no change"),
        "imported": _("imported"),
    }.get(meaning, meaning)


def next_review_window(days: int = 30) -> date:
    return clock.today() + timedelta(days=days)


# -- each person's work ----------------------------------------------------------------


@dataclass
class Work:
    drafts: list[Revision]
    to_approve: list[Revision]
    to_release: list[Revision]
    due_for_review: list[Document]
    change_requests: list[ChangeRequest]


def work_for(user: User) -> Work:
    """Return what waits for ``user``: their drafts, and for approvers what waits on them."""
    open_revs = db.session.scalars(
        select(Revision)
        .where(Revision.status.in_(("draft", "in_review", "approved")))
        .order_by(Revision.created_at)
    ).all()
    drafts = [r for r in open_revs if r.status == "draft" and user.id in contributors(r)]
    to_approve, to_release, due, crs = [], [], [], []
    if user.has_role("approver"):
        to_approve = [r for r in open_revs if r.status == "in_review" and can_approve(user, r)]
        to_release = [r for r in open_revs if r.status == "approved"]
        due = list(
            db.session.scalars(
                list_documents(status="effective").where(
                    Document.next_review_due <= next_review_window()
                )
            )
        )
        crs = list(
            db.session.scalars(
                select(ChangeRequest)
                .where(ChangeRequest.status == "open")
                .order_by(ChangeRequest.raised_at)
            )
        )
    return Work(drafts, to_approve, to_release, due, crs)


def cr_status_label(status: str) -> str:
    return {
        "open": _("open"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "implemented": _("implemented"),
    }.get(status, status)


# -- importing an existing system --------------------------------------------------------


@dataclass
class ImportItem:
    """One document of an import batch, already converted to Markdown."""

    code: str
    title: str
    doc_type: str
    body: str
    #: Files stored in the document's own folder beside its Markdown, by path relative to
    #: that folder: ``media/image1.png``, ``original/QP-07 Document control.docx``.
    files: dict[str, bytes] = field(default_factory=dict)
    parent: str | None = None
    department: str | None = None
    #: Front matter the source file carried (clauses, a record form's fields…).
    meta: dict = field(default_factory=dict)
    #: Where it came from, for messages and the trail: the file name.
    source: str = ""


def attachment_dir(doc_type: str, code: str) -> str:
    """Return the repository folder a document's images and attachments live in.

    ``procedures/QP-07.md`` owns ``procedures/QP-07/``, so the Markdown references its
    images by a relative path (``QP-07/media/image1.png``) that a plain clone shows too.
    """
    return f"{TYPE_FOLDERS[doc_type]}/{code}"


def import_content(item: ImportItem, department: str | None = None) -> str:
    """Return the Markdown file an imported document is stored as: front matter + body."""
    meta = {k: v for k, v in item.meta.items() if k not in ("code", "title", "type", "parent")}
    head = {"code": item.code, "title": item.title, "type": item.doc_type}
    if item.parent:
        head["parent"] = item.parent
    if department:
        head["department"] = department
    meta = {**head, **{k: v for k, v in meta.items() if k not in head}}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None)
    return f"---\n{front}---\n\n{item.body.strip()}\n"


def check_import(items: list[ImportItem], progress: Callable | None = None) -> list[list[str]]:
    """Return, for each item, the problems that stop it being imported (empty lists: none).

    The same rules as creating and releasing a document by hand: a valid and new code
    (also within the batch), a title, a known type, a parent of the right type (in the
    register or the batch), a known department, safe content within the size limit, and
    the checks other domains add for the type. ``progress(done, total)`` is called as the
    content is checked, the slow part.
    """
    problems: list[list[str]] = [[] for _ in items]
    existing = {c.lower() for c in db.session.scalars(select(Document.code)) if c is not None}
    batch: dict[str, int] = {}
    for index, item in enumerate(items):
        found = problems[index]
        try:
            code = validate_code(item.code)
        except ValidationFailed as exc:
            found.append(exc.message)
            continue
        if code.lower() in existing:
            found.append(_("Document %(code)s already exists.", code=code))
        elif code.lower() in batch:
            other = items[batch[code.lower()]].source
            found.append(_("The code %(code)s is also given to %(other)s.", code=code, other=other))
        else:
            batch[code.lower()] = index
        if not (item.title or "").strip() or len(item.title) > 300:
            found.append(_("A title of up to 300 characters is required."))
        if item.doc_type not in DOC_TYPES:
            found.append(
                _(
                    "The type %(type)s is unknown; it must be one of: %(types)s.",
                    type=item.doc_type,
                    types=", ".join(DOC_TYPES),
                )
            )
        if item.department:
            try:
                _department(item.department)
            except ValidationFailed as exc:
                found.append(exc.message)
    for index, item in enumerate(items):
        if not item.parent or item.doc_type not in DOC_TYPES:
            continue
        if item.parent.lower() in batch:
            parent_type = items[batch[item.parent.lower()]].doc_type
        else:
            parent_type = db.session.scalar(
                select(Document.doc_type).where(func.lower(Document.code) == item.parent.lower())
            )
            if parent_type is None:
                problems[index].append(_("There is no document %(code)s.", code=item.parent))
                continue
        if parent_type not in PARENT_TYPES[item.doc_type]:
            problems[index].append(
                _(
                    "A %(type)s cannot sit under a %(parent)s.",
                    type=item.doc_type,
                    parent=parent_type,
                )
            )

    limit = current_app.config["QMS_MAX_CONTENT_BYTES"]

    def content_problems(item: ImportItem) -> list[str]:
        # Run in worker threads: pandoc does the work, so the checks overlap.
        text = import_content(item)
        if len(text.encode("utf-8")) > limit:
            return [
                _(
                    "The document is %(size)s KB; the limit is %(limit)s KB.",
                    size=len(text.encode("utf-8")) // 1024,
                    limit=limit // 1024,
                )
            ]
        try:
            return [detail for _kind, detail in render.check_markdown(item.body)]
        except render.RenderError as exc:
            return [str(exc)]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        for done, (index, found) in enumerate(
            zip(range(len(items)), pool.map(content_problems, items), strict=True), start=1
        ):
            if found:
                problems[index].append(
                    _("The content is not safe to publish: %(detail)s", detail="; ".join(found))
                )
            if progress is not None:
                progress(done, len(items))
    for index, item in enumerate(items):
        for check in CONTENT_VALIDATORS.get(item.doc_type, ()):
            try:
                check({**item.meta, "title": item.title, "type": item.doc_type}, item.body)
            except ValidationFailed as exc:
                problems[index].append(exc.message)
    return problems


@transactional
def import_documents(
    actor: User,
    items: list[ImportItem],
    progress: Callable[[str, int, int], None] | None = None,
    summary: str = "",
) -> str:
    """Release a whole batch of existing documents as their first revisions; return the commit.

    All or nothing: one commit on main for the batch and one tag per document, published
    together by a single compare-and-swap of the refs once every register row is ready;
    each revision is effective at once with an "imported" signature by ``actor``. If
    anything fails before the database commits, nothing is left in the database and the
    refs are put back where they were (again by compare-and-swap), so no half batch shows.

    ``progress(stage, done, total)`` reports "checking", "writing" and then "recording"
    document by document. While it reports "recording" the transaction is writing: the
    callback must not write through another database connection then (on SQLite that
    write would wait for this transaction to end).

    :raises ValidationFailed: with ``detail`` = {source file: [problems]} when any item
        breaks a rule; nothing is written then.
    """
    require_role(actor, "admin")
    if not items:
        raise ValidationFailed(_("There is nothing to import."), field="files")
    report = progress or (lambda stage, done, total: None)
    problems = check_import(items, lambda done, total: report("checking", done, total))
    failed = {
        item.source or item.code: found
        for item, found in zip(items, problems, strict=True)
        if found
    }
    if failed:
        raise ValidationFailed(
            _("Nothing was imported: %(count)s files have problems.", count=len(failed)),
            field="files",
            detail=failed,
        )

    gitstore = store()
    changes: dict[str, str] = {}
    contents: dict[str, str] = {}
    departments = {}
    for done, item in enumerate(items, start=1):
        dept = _department(item.department) if item.department else actor.department
        departments[item.code] = dept
        text = import_content(item, dept.name if dept else None)
        path = f"{TYPE_FOLDERS[item.doc_type]}/{item.code}.md"
        contents[item.code] = changes[path] = gitstore.write_blob(text.encode("utf-8"))
        folder = attachment_dir(item.doc_type, item.code)
        for name, data in item.files.items():
            changes[f"{folder}/{name}"] = gitstore.write_blob(data)
        report("writing", done, len(items))

    me = person(actor)
    message = format_message(
        f"Import {len(items)} documents",
        summary,
        [("Imported-by", f"{actor.display_name} <{me.email}>")]
        + [("Document", item.code) for item in items],
    )
    # Main and every tag move with the unit of work, after every register row is ready:
    # a failure up to then leaves main and the tags exactly as they were.
    commit = gitstore.commit_on_main(changes, message, me)

    report("recording", 0, len(items))
    docs: dict[str, Document] = {}
    revs: list[Revision] = []
    today = clock.today()
    for item in items:
        docs[item.code.lower()] = Document(
            code=item.code,
            title=item.title.strip(),
            doc_type=item.doc_type,
            department=departments[item.code],
            clause_rows=[
                DocumentClause(clause=c) for c in validate_clauses(item.meta.get("clauses") or [])
            ],
        )
    for item in items:
        doc = docs[item.code.lower()]
        if item.parent:
            doc.parent = docs.get(item.parent.lower()) or db.session.scalar(
                select(Document).where(func.lower(Document.code) == item.parent.lower())
            )
        db.session.add(doc)
        rev = Revision(
            document=doc,
            label=revision_label(0),
            status="approved",
            summary=(f"Imported from {item.source}" if item.source else "Imported"),
            author_id=actor.id,
            blob_id=contents[item.code],
            effective_date=today,
            released_at=utcnow(),
            released_by_id=actor.id,
        )
        db.session.add(rev)
        revs.append(rev)
        gitstore.create_tag(
            tag_name(item.code, rev.label),
            commit,
            f"{item.code} revision {rev.label} (imported)",
            me,
        )
    db.session.flush()

    for done, (item, rev) in enumerate(zip(items, revs, strict=True), start=1):
        doc = rev.document
        trail.record(
            "document.created",
            "document",
            doc.code,
            after={
                "title": doc.title,
                "type": doc.doc_type,
                "parent": item.parent,
                "department": departments[item.code].name if departments[item.code] else None,
                "imported_from": item.source,
            },
            user=actor,
        )
        _sign(actor, rev, "imported", rev.blob_id, item.source or None)
        _apply_effective(rev, None, commit)
        report("recording", done, len(items))
    return commit


def document_media(rev: Revision) -> render.StoredMedia:
    """Return the images stored beside a document at ``rev``, by the URL its body uses.

    The keys are relative to the Markdown file (``QP-07/media/image1.png``), which is
    how an imported body references them, so a controlled copy can embed them; each is
    read from the repository only when a copy is made.
    """
    commit = rev.release_commit or rev.head_commit
    if commit is None:
        return render.StoredMedia({}, store().read_blob)
    doc = rev.document
    folder = f"{attachment_dir(doc.doc_type, doc.code)}/media"
    repo = store()
    ids = {f"{doc.code}/media/{name}": sha for name, sha in repo.folder(commit, folder).items()}
    return render.StoredMedia(ids, repo.read_blob)


def document_file(rev: Revision, relative: str) -> bytes | None:
    """Return a file from the document's own folder (an image, an original) at ``rev``.

    ``relative`` is the path inside that folder, e.g. ``media/image1.png``; anything that
    would step outside it (``..``, an absolute path) is refused with None.
    """
    parts = relative.split("/")
    if not relative or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    commit = rev.release_commit or rev.head_commit
    if commit is None:
        return None
    doc = rev.document
    return store().read(commit, f"{attachment_dir(doc.doc_type, doc.code)}/{relative}")

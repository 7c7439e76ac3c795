"""Drafting: one open draft per document, a branch whose every save is a commit."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import yaml
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import render, trail
from qms.auth.models import User
from qms.documents.change_requests import _accepted_change_request
from qms.documents.labels import status_label
from qms.documents.models import TYPE_FOLDERS, ChangeRequest, Document, Revision
from qms.documents.permissions import AUTHORING_ROLES, can_author, needs_role
from qms.documents.reading import revision_content
from qms.documents.register import (
    _revision_in,
    effective_revision,
    open_revision,
    person,
    validate_clauses,
)
from qms.errors import Conflict, ValidationFailed
from qms.extensions import db
from qms.gitstore import MAIN, draft_ref, format_message
from qms.models import utcnow
from qms.uow import store, transactional

# Other domains hook in here (notices tell the next signers) so that document control
# never imports them. Hooks run inside the caller's transaction.
WORKFLOW_HOOKS: list[Callable[[str, Revision], None]] = []


def on_workflow(hook: Callable[[str, Revision], None]) -> None:
    """Call ``hook(event, rev)`` when a revision is "submitted" for review and approval,
    when a step of its route is "signed" and another step follows, and when it is
    "rejected" back to draft."""
    if hook not in WORKFLOW_HOOKS:
        WORKFLOW_HOOKS.append(hook)


def workflow_event(event: str, rev: Revision) -> None:
    for hook in WORKFLOW_HOOKS:
        hook(event, rev)


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


# -- content ---------------------------------------------------------------------------


@dataclass
class ParsedContent:
    """A draft's front matter and Markdown body, as validated."""

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


#: The order the application writes a document's properties in; other keys follow.
PROPERTY_ORDER = (
    "code",
    "title",
    "type",
    "parent",
    "department",
    "distribution",
    "clauses",
    "review_interval_months",
    "retention_years",
    "summary",
)


def compose_content(meta: dict, body: str) -> str:
    """Write a document file: its properties as YAML front matter, then the Markdown body.

    Empty properties are left out; keys the application does not know (a record form's
    ``fields``) keep their values, after the known ones.
    """
    ordered = {k: meta[k] for k in PROPERTY_ORDER if meta.get(k) not in (None, "", [])}
    ordered |= {k: v for k, v in meta.items() if k not in PROPERTY_ORDER}
    front = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n\n{body.lstrip()}"


def blank_content(doc: Document) -> str:
    """Return the Markdown a revision drafted from blank starts with: its front matter."""
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


# -- drafts ----------------------------------------------------------------------------


def can_open_draft(user: User, doc: Document) -> bool:
    """Return whether ``user`` may start ``doc``'s next revision now: an author, while the
    document is in force and has no open draft (the checks :func:`open_draft` makes)."""
    return can_author(user, doc) and doc.status != "obsolete" and open_revision(doc) is None


@transactional
def open_draft(
    actor: User,
    doc: Document,
    from_blank: bool = False,
    change_request: str | None = None,
) -> Revision:
    """Start the document's next revision from the effective one, or from blank."""
    if not can_author(actor, doc):
        raise needs_role(*AUTHORING_ROLES)
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
    images: dict[str, bytes] | None = None,
) -> Revision:
    """Save the whole Markdown file as the next commit on the draft branch.

    ``images`` are files the body references by ``<code>/media/<name>`` (a Word file's
    pictures), written beside the document in the same commit.

    ``base_commit`` is the draft head the editor started from; when someone saved in
    between, :class:`Conflict` is raised and nothing is overwritten. ``trailers`` are
    extra ``(key, value)`` lines for the commit message (e.g. where the text came from).
    """
    if not can_author(actor, doc):
        raise needs_role(*AUTHORING_ROLES)
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
    changes = {doc.path: gitstore.write_blob(content.encode("utf-8"))}
    folder = TYPE_FOLDERS[doc.doc_type]
    for relative, data in (images or {}).items():
        if not relative.startswith(f"{doc.code}/media/") or ".." in relative.split("/"):
            raise ValidationFailed(_("An image can only be stored beside its document."))
        changes[f"{folder}/{relative}"] = gitstore.write_blob(data)
    head = gitstore.commit_on(
        draft_ref(doc.code, rev.label),
        changes,
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
    if not can_author(actor, doc):
        raise needs_role(*AUTHORING_ROLES)
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
    workflow_event("submitted", rev)
    return rev

"""Release: main, the revision's tag and the draft branch's deletion move as one.

Also what follows from a release: the previous revision superseded, due releases made
effective, a document withdrawn (obsolete), and the hooks other domains add to each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import anchors, clock, render, trail
from qms.auth.models import User
from qms.documents.models import Document, Revision, Signature
from qms.documents.permissions import APPROVING_ROLES, can_obsolete, can_release, needs_role
from qms.documents.reading import revision_content
from qms.documents.register import (
    _revision_in,
    add_months,
    effective_revision,
    open_revision,
    person,
    set_clauses,
    validate_clauses,
)
from qms.errors import Conflict, ValidationFailed
from qms.extensions import db
from qms.gitstore import draft_ref, format_message, tag_name
from qms.models import utcnow
from qms.uow import store, transactional

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


# -- releasing --------------------------------------------------------------------------


@transactional
def release(
    actor: User, doc: Document, effective_date: date | None = None, allow_past: bool = False
) -> Revision:
    """Release the approved revision, effective today or on a later date.

    ``allow_past`` is for loading an existing system's history, never for users.
    """
    if not can_release(actor, doc):
        raise needs_role(*APPROVING_ROLES)
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
    """Return the release commit's message, whose trailers tell the release to plain git."""
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


def tag_message(subject: str, code: str, label: str, path: str, blob: str) -> str:
    """Return a release tag's message: its trailers name the exact content released."""
    return format_message(
        subject,
        trailers=[("Document", code), ("Revision", label), ("Path", path), ("Content-Blob", blob)],
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
    signer = person(actor or rev.released_by or rev.author)
    # Always a new release commit, never a tag git already holds: the database has not
    # acknowledged such a tag (the revision is not effective), so it was left by a release
    # that never committed, and the unit of work drops it rather than adopting it.
    commit = gitstore.commit_on_main(
        {doc.path: rev.blob_id},
        release_message(rev, previous, [s for s in rev.signatures if s.meaning != "authored"]),
        signer,
        extra_parents=(rev.head_commit,) if rev.head_commit else (),
    )
    gitstore.create_tag(
        tag_name(doc.code, rev.label),
        commit,
        tag_message(f"{doc.code} revision {rev.label}", doc.code, rev.label, doc.path, rev.blob_id),
        signer,
    )
    _apply_effective(rev, previous, commit)
    anchors.request()
    if rev.head_commit:
        # From where the database has it, not git: a branch a dead process moved or deleted
        # is then one the unit of work puts right instead of leaving behind.
        gitstore.update_ref(draft_ref(doc.code, rev.label), None, rev.head_commit)


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


# -- withdrawing ------------------------------------------------------------------------


@transactional
def obsolete(actor: User, doc: Document, reason: str) -> Document:
    """Withdraw an effective document; it stays retrievable from its tags, marked obsolete."""
    if not can_obsolete(actor, doc):
        raise needs_role(*APPROVING_ROLES)
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
                # The office's day it was withdrawn, which "as in force on" reads.
                ("Effective-Date", clock.today().isoformat()),
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
    anchors.request()
    trail.record(
        "document.obsoleted",
        "document",
        doc.code,
        after={"reason": reason, "commit": commit},
        user=actor,
    )
    return doc

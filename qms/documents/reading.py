"""Reading: the content of a revision, who must read it, acknowledgements, each one's work."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload

from qms import render, trail
from qms.auth.models import User
from qms.documents.models import (
    Acknowledgement,
    ChangeRequest,
    Distribution,
    Document,
    Revision,
)
from qms.documents.permissions import (
    can_approve,
    can_decide_change_request,
    can_release,
    can_review_periodically,
    contributors_of,
)
from qms.documents.register import (
    attachment_dir,
    effective_revision,
    get_document,
    list_documents,
    next_review_window,
)
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.uow import store, transactional


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


# -- who reads what ---------------------------------------------------------------------


def concerns(doc: Document, user: User) -> bool:
    """Return whether the user's department must read this document."""
    if doc.distribute_to_all:
        return True
    ids = {d.department_id for d in doc.distribution} | {doc.department_id}
    return user.department_id in ids


def _reading(doc: Document):
    """Return the SQL condition on users of :func:`readers`."""
    condition = User.active.is_(True)
    if not doc.distribute_to_all:
        ids = {d.department_id for d in doc.distribution} | {doc.department_id}
        condition = condition & User.department_id.in_(ids)
    return condition


def readers(doc: Document) -> list[User]:
    """Return the active users who should read the document."""
    return list(db.session.scalars(select(User).where(_reading(doc))))


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


def can_acknowledge(user: User, doc: Document) -> bool:
    """Return whether ``user`` may acknowledge ``doc``: it is in force and concerns them."""
    return doc.status == "effective" and concerns(doc, user)


@dataclass
class Acknowledged:
    """What :func:`acknowledge_selected` did: the documents acknowledged, the refusals."""

    done: list[Document]
    refused: list[str]


#: At most this many documents are acknowledged in one request (a page of the list).
MAX_SELECTED = 100


@transactional
def acknowledge_selected(actor: User, codes: list[str]) -> Acknowledged:
    """Acknowledge each selected document as :func:`acknowledge` does one.

    A document the user may not acknowledge (unknown, not in force, not distributed to
    their department) is refused with the reason and the others are still acknowledged.
    """
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not codes:
        raise ValidationFailed(_("Select at least one document to acknowledge."), field="code")
    if len(codes) > MAX_SELECTED:
        raise ValidationFailed(
            _("Select at most %(max)d documents at a time.", max=MAX_SELECTED), field="code"
        )
    done, refused = [], []
    for code in codes:
        try:
            doc = get_document(code)
            if doc.status == "effective" and not concerns(doc, actor):
                raise PermissionDenied(
                    _("%(code)s is not distributed to your department.", code=doc.code)
                )
            # The same call as a single acknowledgement, so the same checks and trail event.
            acknowledge(actor, doc)
        except (Conflict, NotFound, PermissionDenied) as exc:
            refused.append(exc.message)
        else:
            done.append(doc)
    return Acknowledged(done, refused)


def acknowledgement_counts(rev: Revision) -> tuple[int, int]:
    """Return (acknowledged, expected) for a revision among the staff concerned."""
    # Counted in SQL: a document for everyone would load every user (1,000 and more).
    condition = _reading(rev.document)
    expected = db.session.scalar(select(func.count(User.id)).where(condition)) or 0
    done = db.session.scalar(
        select(func.count(Acknowledgement.id))
        .join(User, User.id == Acknowledgement.user_id)
        .where(Acknowledgement.revision_id == rev.id, condition)
    )
    return done or 0, expected


def concerning(user: User):
    """Return the SQL condition of :func:`concerns`: documents the user's department reads."""
    return or_(
        Document.distribute_to_all.is_(True),
        Document.department_id == user.department_id,
        Document.distribution.any(Distribution.department_id == user.department_id),
    )


def _unread(user: User, *columns):
    """Select ``columns`` of the effective documents the user must read and has not acked."""
    return (
        select(*columns)
        .select_from(Document)
        .join(Revision, Revision.document_id == Document.id)
        .where(
            Document.status == "effective",
            Revision.status.in_(("effective", "obsolete")),
            concerning(user),
            ~exists().where(
                Acknowledgement.revision_id == Revision.id, Acknowledgement.user_id == user.id
            ),
        )
    )


def acknowledgement_totals() -> tuple[int, int]:
    """Return (acknowledged, expected) summed over every effective document's revision.

    What :func:`acknowledgement_counts` gives for each, in two queries for the register:
    the management review asked it of thousands of documents one by one.
    """
    in_force = (
        select(Document.id, Document.department_id, Document.distribute_to_all, Revision.id)
        .join(Revision, Revision.document_id == Document.id)
        .where(Document.status == "effective", Revision.status.in_(("effective", "obsolete")))
        .subquery("in_force")
    )
    doc_id, dept_id, to_all, rev_id = in_force.c
    active = User.active.is_(True)
    everyone = db.session.scalar(select(func.count(User.id)).where(active)) or 0
    # (document, department) pairs of the documents distributed by department, distinct.
    pairs = (
        select(doc_id.label("doc"), dept_id.label("dept"))
        .where(to_all.is_(False), dept_id.is_not(None))
        .union(
            select(Distribution.document_id, Distribution.department_id)
            .join(in_force, doc_id == Distribution.document_id)
            .where(to_all.is_(False))
        )
        .subquery("pairs")
    )
    staff = (
        select(User.department_id.label("dept"), func.count(User.id).label("n"))
        .where(active)
        .group_by(User.department_id)
        .subquery("staff")
    )
    by_department = db.session.scalar(
        select(func.coalesce(func.sum(staff.c.n), 0)).join_from(
            pairs, staff, staff.c.dept == pairs.c.dept
        )
    )
    for_all = db.session.scalar(select(func.count()).where(to_all.is_(True))) or 0
    expected = int(by_department or 0) + for_all * everyone
    concerned = or_(
        to_all.is_(True),
        User.department_id == dept_id,
        exists().where(
            Distribution.document_id == doc_id, Distribution.department_id == User.department_id
        ),
    )
    done = db.session.scalar(
        select(func.count(Acknowledgement.id))
        .join(in_force, rev_id == Acknowledgement.revision_id)
        .join(User, User.id == Acknowledgement.user_id)
        .where(active, concerned)
    )
    return done or 0, expected


def reading_list(user: User, limit: int | None = None) -> list[Document]:
    """Return the effective documents the user must read and has not acknowledged yet.

    Filtered and limited in SQL: a new member of staff may have thousands to read, and
    the home page shows the first ``limit`` of them with :func:`reading_count`.
    """
    stmt = _unread(user, Document).order_by(Document.code)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def reading_count(user: User) -> int:
    """Return how many effective documents the user has still to read and acknowledge."""
    return db.session.scalar(_unread(user, func.count(Document.id))) or 0


# -- each person's work ----------------------------------------------------------------


@dataclass
class Work:
    """What waits for one person, shown on their home page."""

    drafts: list[Revision]
    to_approve: list[Revision]
    to_release: list[Revision]
    due_for_review: list[Document]
    change_requests: list[ChangeRequest]
    #: How many are due in all (``due_for_review`` holds the first :data:`HOME_LIST`).
    due_count: int = 0


#: How many documents due for review the home page lists.
HOME_LIST = 20


def work_for(user: User) -> Work:
    """Return what waits for ``user``: their drafts, and for approvers what waits on them."""
    open_revs = db.session.scalars(
        select(Revision)
        .where(Revision.status.in_(("draft", "in_review", "approved")))
        .options(joinedload(Revision.document))
        .order_by(Revision.created_at)
    ).all()
    # Who wrote each open revision, in one trail query rather than one per revision.
    authors = contributors_of(open_revs)
    drafts = [r for r in open_revs if r.status == "draft" and user.id in authors[r.id]]
    approver = can_approve(user)
    to_approve = [
        r
        for r in open_revs
        if r.status == "in_review" and approver and user.id not in authors[r.id]
    ]
    to_release = [r for r in open_revs if r.status == "approved" and can_release(user, r.document)]
    due, due_count, crs = [], 0, []
    if can_review_periodically(user):
        stmt = list_documents(status="effective").where(
            Document.next_review_due <= next_review_window()
        )
        # The first of them and how many: at ten times a bureau hundreds fall due a month.
        due = list(db.session.scalars(stmt.limit(HOME_LIST)))
        due_count = len(due)
        if due_count == HOME_LIST:
            counted = stmt.order_by(None).with_only_columns(func.count(Document.id))
            due_count = db.session.scalar(counted) or 0
    if can_decide_change_request(user):
        crs = list(
            db.session.scalars(
                select(ChangeRequest)
                .where(ChangeRequest.status == "open")
                .order_by(ChangeRequest.raised_at)
            )
        )
    return Work(drafts, to_approve, to_release, due, crs, due_count)

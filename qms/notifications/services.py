"""Telling people what the document workflow asks of them, each occasion once.

The documents package calls no one: its hooks (``on_workflow`` for a submission,
``on_revision`` for a release) reach :func:`on_document_event`, which records a notice
per person inside the same unit of work. The notices are mailed by the job runner after
the commit (``notice_mail``), so a refused submission tells nobody and a slow mail server
holds up no one. The periodic ``review_notices`` job adds coming periodic reviews.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from qms import jobs
from qms.auth.models import User, UserRole
from qms.extensions import db
from qms.improvement import mail as mailer
from qms.models import utcnow
from qms.notifications.models import Notice
from qms.uow import transactional

log = logging.getLogger(__name__)

#: How many unread notices the home page lists.
HOME_LIMIT = 10


@dataclass(frozen=True)
class Kind:
    title: object  # lazy: what the notice says, with %(code)s etc. from its params
    template: str | None  # the mail, subject on its first line (None: mailed elsewhere)


KINDS = {
    "review_requested": Kind(
        _l("%(code)s revision %(label)s waits for your review or approval"),
        "notifications/mail/review_requested.txt",
    ),
    "read_required": Kind(
        _l("%(code)s revision %(label)s is released: read and acknowledge it"),
        "notifications/mail/read_required.txt",
    ),
    "review_due": Kind(
        _l("%(code)s is due for its periodic review on %(due)s"),
        None,
    ),
}


def title(notice: Notice) -> str:
    return str(KINDS[notice.kind].title) % notice.params


def url(notice: Notice) -> str:
    """The page a notice leads to: its document."""
    from flask import url_for

    return url_for("documents.detail", code=notice.params["code"])


def notify(users, kind: str, key: str, mail: bool = True, **params) -> list[int]:
    """Record a notice of ``kind`` for each of ``users`` not yet told of ``key``; mail them
    after the commit unless ``mail`` is false. Return the new notices' ids."""
    wanted = {u.id: u for u in users if u.active}
    if not wanted:
        return []
    told = set(
        db.session.scalars(
            select(Notice.user_id).where(
                Notice.kind == kind, Notice.key == key, Notice.user_id.in_(wanted)
            )
        )
    )
    rows = [
        Notice(user_id=ident, kind=kind, key=key, params=params)
        for ident in sorted(wanted)
        if ident not in told
    ]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    ids = [row.id for row in rows]
    if mail and mailer.settings() is not None:  # with no mail server, the home page tells
        jobs.enqueue_after_commit("notice_mail", ids)
    return ids


def _holders(roles) -> list[User]:
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role.in_(roles))
        .distinct()
    )
    return list(db.session.scalars(query))


def _params(rev) -> dict:
    doc = rev.document
    return {"code": doc.code, "title": doc.title, "label": rev.label}


def on_workflow(event: str, rev) -> None:
    """A revision was submitted, or a step of its route signed: tell who signs next (never
    its authors), once per submission and step. Rejected: what it asked is done."""
    from qms.documents import services as documents

    if event == "rejected":
        _settle(rev)
        return
    step = sum(1 for s in rev.signatures if s.step is not None) + 1
    key = f"{rev.document.code}/{rev.label}@{rev.submitted_at}#{step}"
    notify(documents.next_signers(rev), "review_requested", key, **_params(rev))


def on_revision(event: str, rev) -> None:
    """A revision became effective: tell its readers to read and acknowledge it, and
    settle the requests to sign it."""
    from qms.documents import services as documents

    if event != "effective":
        return
    _settle(rev)
    notify(
        documents.readers(rev.document),
        "read_required",
        f"{rev.document.code}/{rev.label}",
        **_params(rev),
    )


def _settle(rev) -> None:
    """Mark read the requests to sign ``rev``: nobody is left asked to sign what is done."""
    prefix = f"{rev.document.code}/{rev.label}@"
    db.session.execute(
        update(Notice)
        .where(
            Notice.kind == "review_requested",
            Notice.key.startswith(prefix, autoescape=True),
            Notice.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )


def review_owners(doc) -> list[User]:
    """Who is told of a coming periodic review: those who may record it in the owning
    department, or all of them when the department has none."""
    from qms.documents import services as documents

    people = [
        u for u in _holders(documents.APPROVING_ROLES) if documents.can_review_periodically(u, doc)
    ]
    own = [u for u in people if u.department_id == doc.department_id]
    return own or people


@transactional
def record_review_due(docs) -> int:
    """Put a notice of each coming periodic review on its owners' home page, once per
    document and due date; the review-notice job mails the approvers its own digest."""
    made = 0
    for doc in docs:
        due = doc.next_review_due.isoformat()
        params = {"code": doc.code, "title": doc.title, "due": due}
        made += len(notify(review_owners(doc), "review_due", f"{doc.code}@{due}", False, **params))
    return made


# -- reading them ------------------------------------------------------------------------


def unread(user: User, limit: int = HOME_LIMIT) -> list[Notice]:
    query = (
        select(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def unread_count(user: User) -> int:
    query = select(func.count(Notice.id)).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    return db.session.scalar(query) or 0


def notices_of(user: User, page: int = 1, per_page: int = 50):
    query = (
        select(Notice)
        .where(Notice.user_id == user.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


@transactional
def mark_read(user: User, ids: list[int] | None = None) -> int:
    """Mark the user's own notices read (all unread when ``ids`` is None); return how many.
    Another person's notices are never touched."""
    condition = (Notice.user_id == user.id) & Notice.read_at.is_(None)
    if ids is not None:
        condition = condition & Notice.id.in_(ids)
    result = db.session.execute(update(Notice).where(condition).values(read_at=utcnow()))
    return result.rowcount


def close_past(before) -> int:
    """Mark read and mailed what was noticed before ``before`` (a loaded history)."""
    past = Notice.created_at < before
    result = db.session.execute(
        update(Notice)
        .where(past, or_(Notice.read_at.is_(None), Notice.mailed_at.is_(None)))
        .values(
            read_at=func.coalesce(Notice.read_at, utcnow()),
            mailed_at=func.coalesce(Notice.mailed_at, utcnow()),
        )
    )
    return result.rowcount


# -- mailing them -----------------------------------------------------------------------


class MailRefused(RuntimeError):
    """The mail server refused some notices; the job runner tries them again."""


def send_mail(ids: list[int]) -> list[int]:
    """Mail each notice not mailed yet, in its recipient's language; return those sent.

    Each is claimed first (``mailed_at`` set where it was empty), so two workers never
    send the same one; a message the server refuses gives its claim up and raises
    :class:`MailRefused`, for the job runner's retry.
    """
    smtp = mailer.settings()
    if smtp is None:
        log.info("No SMTP host configured; %d notice(s) not mailed.", len(ids))
        return []
    sent, refused = [], []
    for ident in ids:
        notice = _claim(ident)
        if notice is None:
            continue
        if not notice.user.email:
            log.info("%s has no e-mail address; notice %d not mailed.", notice.user.username, ident)
            continue
        message = mailer.compose(
            notice.user, KINDS[notice.kind].template, notice=notice, params=notice.params
        )
        if mailer.deliver(message, smtp):
            sent.append(ident)
        else:
            _give_up(ident)
            refused.append(ident)
    if refused:
        raise MailRefused(f"{len(refused)} notice(s) refused by the mail server")
    return sent


@transactional
def _claim(ident: int) -> Notice | None:
    claimed = db.session.execute(
        update(Notice)
        .where(Notice.id == ident, Notice.mailed_at.is_(None))
        .values(mailed_at=utcnow())
    ).rowcount
    return db.session.get(Notice, ident) if claimed else None


@transactional
def _give_up(ident: int) -> None:
    db.session.execute(update(Notice).where(Notice.id == ident).values(mailed_at=None))

"""Mirror the document repository to another git remote after each release.

A release (or obsoletion, or an import) adds a row to the ``mirror_push`` queue in its
own unit of work, through the documents' revision hook, so the queue never misses one,
and once that unit commits it hands a push job to the worker (:mod:`qms.jobs`): the
release never waits on the network. The job pushes main and every tag to
``QMS_MIRROR_URL`` (any git URL or a local path) and is retried with a growing delay
when the push fails; the rows keep what happened, for the admin status page.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from qms import jobs, uow
from qms.documents import services as documents
from qms.extensions import db
from qms.gitstore import MAIN, GitStoreError
from qms.models import aware, utcnow
from qms.transfer.models import MirrorPush
from qms.uow import transactional

logger = logging.getLogger(__name__)

# A claimed push holds its row this long; a worker that died frees it after that.
LEASE = timedelta(minutes=5)
MAX_DELAY = 3600


class PushFailed(GitStoreError):
    """The mirror refused the push, or could not be reached; it is retried later."""


class NotDue(Exception):
    """A push waits, but not yet due (backing off, or claimed by a worker)."""

    def __init__(self, seconds: float):
        super().__init__(f"the next push is due in {seconds:.0f} s")
        self.seconds = seconds


def mirror_url() -> str | None:
    """Return the configured mirror, or None when mirroring is off."""
    return current_app.config.get("QMS_MIRROR_URL") or os.environ.get("QMS_MIRROR_URL") or None


def shown_url(url: str | None) -> str | None:
    """Return the URL without any password in it, for the status page."""
    return re.sub(r"//[^/@]*@", "//…@", url) if url else url


def backoff(attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: 5 s, 10 s, 20 s … up to an hour."""
    return min(5 * 2 ** max(attempts - 1, 0), MAX_DELAY)


def request_push(reason: str) -> None:
    """Queue a push in the caller's unit of work; the worker pushes once it commits.

    One row waits at a time: a release while a push waits is carried by that push.
    """
    if not mirror_url():
        return
    info = db.session.info
    if info.get("qms_mirror_queued"):
        return
    pending = db.session.scalar(
        select(MirrorPush.id).where(MirrorPush.status == "pending").limit(1)
    )
    if pending is None:
        db.session.add(MirrorPush(reason=reason[:200], next_attempt_at=utcnow()))
    info["qms_mirror_queued"] = True
    uow.after_rollback(lambda: info.pop("qms_mirror_queued", None))
    uow.after_commit(lambda: info.pop("qms_mirror_queued", None))
    jobs.enqueue_after_commit("mirror_push")


def _on_revision(event_name: str, rev) -> None:
    """Queue a push when a release or obsoletion moved main (a documents hook)."""
    request_push(f"{rev.document.code}/{rev.label} {event_name}")


documents.on_revision(_on_revision)


@transactional
def _claim(now: datetime) -> MirrorPush | None:
    """Take the oldest due push for ``LEASE``, by compare-and-set; return it or None."""
    row = db.session.scalar(
        select(MirrorPush)
        .where(MirrorPush.status == "pending", MirrorPush.next_attempt_at <= now)
        .order_by(MirrorPush.id)
        .limit(1)
    )
    if row is None:
        return None
    # Two workers must not push for the same request at once.
    claimed = db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.id == row.id, MirrorPush.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    ).rowcount
    return row if claimed else None


@transactional
def _record_failure(row_id: int, attempts: int, error: str, now: datetime) -> None:
    db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.id == row_id)
        .values(
            attempts=attempts,
            last_error=error[:4000],
            last_failed_at=now,
            next_attempt_at=now + timedelta(seconds=backoff(attempts)),
        )
    )


@transactional
def _record_success(row_id: int, head: str | None, moved: bool) -> None:
    # Everything queued up to the claimed row is on the mirror now: main and the tags
    # as they were when the push read them include every release committed before it.
    db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.status == "pending", MirrorPush.id <= row_id)
        .values(status="done", finished_at=utcnow(), commit=head, attempts=MirrorPush.attempts + 1)
    )
    if moved:
        # A release published while the push ran may have missed it: push once more.
        db.session.add(MirrorPush(reason="changed during a push", next_attempt_at=utcnow()))


def push_due(now: datetime | None = None, strict: bool = False) -> bool:
    """Push if a queued push is due; return whether one was pushed.

    With ``strict`` (the push job), a failure raises :class:`PushFailed` and a push that
    waits but is not due yet raises :class:`NotDue`, so that the job runs again then.
    """
    url = mirror_url()
    if not url:
        return False
    now = now or utcnow()
    row = _claim(now)
    if row is None:
        due = next_due()
        if strict and due is not None:
            raise NotDue(max(1.0, (due - now).total_seconds()))
        return False
    gitstore = uow.store()
    before = gitstore.managed_refs()
    try:
        gitstore.push(url)
    except GitStoreError as exc:
        _record_failure(row.id, row.attempts + 1, str(exc), now)
        logger.warning("Mirror push to %s failed: %s", shown_url(url), exc)
        if strict:
            raise PushFailed(str(exc)) from exc
        return False
    after = gitstore.managed_refs()
    pushed = {k: v for k, v in before.items() if k == MAIN or k.startswith("refs/tags/")}
    now_refs = {k: v for k, v in after.items() if k == MAIN or k.startswith("refs/tags/")}
    moved = pushed != now_refs
    _record_success(row.id, before.get(MAIN), moved)
    if moved:
        jobs.enqueue("mirror_push")
    return True


def next_due() -> datetime | None:
    """Return when the next waiting push is due, or None when none waits."""
    upcoming = db.session.scalar(
        select(MirrorPush.next_attempt_at)
        .where(MirrorPush.status == "pending")
        .order_by(MirrorPush.next_attempt_at)
        .limit(1)
    )
    return aware(upcoming) if upcoming else None


def status() -> dict:
    """Return what the admin status page shows: the mirror, last success and failure, queue."""
    last_success = db.session.scalar(
        select(MirrorPush).where(MirrorPush.status == "done").order_by(MirrorPush.id.desc())
    )
    last_failure = db.session.scalar(
        select(MirrorPush)
        .where(MirrorPush.last_failed_at.is_not(None))
        .order_by(MirrorPush.last_failed_at.desc())
    )
    queue = list(
        db.session.scalars(
            select(MirrorPush).where(MirrorPush.status == "pending").order_by(MirrorPush.id)
        )
    )
    return {
        "url": shown_url(mirror_url()),
        "last_success": last_success,
        "last_failure": last_failure,
        "queue": queue,
    }


@transactional
def queue_push(reason: str = "requested by hand") -> None:
    """Queue a push due at once, ahead of any backoff (the status page and command line)."""
    request_push(reason)
    db.session.flush()
    db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )


def push_now() -> bool:
    """Queue a push and carry it out here (the command line).

    Return False when a worker took it first. :raises PushFailed: the push failed.
    """
    queue_push()
    try:
        return push_due(strict=True)
    except NotDue:
        # The worker claimed the push just queued: it is under way there.
        return False

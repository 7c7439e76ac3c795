"""Mirror the document repository to another git remote after each release.

A release (or obsoletion) adds a row to the ``mirror_push`` queue in its own transaction,
through the documents' revision hook, so the queue never misses one and the release
never waits on the network. A background thread of each web process pushes main and
every tag to ``QMS_MIRROR_URL`` (any git URL or a local path) and retries a failed push
with a growing delay; failures show on the admin status page.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from qms import uow
from qms.documents import services as documents
from qms.extensions import db
from qms.gitstore import MAIN, GitStoreError
from qms.models import aware, utcnow
from qms.transfer.models import MirrorPush

logger = logging.getLogger(__name__)

# A claimed push holds its row this long; a worker that died frees it after that.
LEASE = timedelta(minutes=5)
MAX_DELAY = 3600

_wake = threading.Event()
_lock = threading.Lock()
_worker: threading.Thread | None = None


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
    """Queue a push inside the caller's transaction, unless one is already waiting."""
    session = db.session()
    if session.info.get("qms_mirror_queued"):
        return
    pending = db.session.scalar(
        select(MirrorPush.id).where(MirrorPush.status == "pending").limit(1)
    )
    if pending is None:
        db.session.add(MirrorPush(reason=reason[:200], next_attempt_at=utcnow()))
    session.info["qms_mirror_queued"] = True


def _on_revision(event_name: str, rev) -> None:
    """Queue a push when a release or obsoletion moved main (a documents hook)."""
    if mirror_url():
        request_push(f"{rev.document.code}/{rev.label} {event_name}")


documents.on_revision(_on_revision)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.info.pop("qms_mirror_queued", False):
        _wake.set()
        if has_app_context():
            ensure_worker(current_app._get_current_object())


@event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop("qms_mirror_queued", None)


def ensure_worker(app) -> None:
    """Start this process's mirror thread if a mirror is configured and none runs."""
    global _worker
    if not (app.config.get("QMS_MIRROR_URL") or os.environ.get("QMS_MIRROR_URL")):
        return
    if app.config.get("QMS_MIRROR_THREAD") is False:
        return  # tests drive process_queue() themselves
    with _lock:
        if _worker is not None and _worker.is_alive():
            return
        _worker = threading.Thread(target=_loop, args=(app,), name="qms-mirror", daemon=True)
        _worker.start()


def _loop(app) -> None:
    while True:
        try:
            with app.app_context():
                delay = process_queue()
                uow.close_store()
                db.session.remove()
        except Exception:  # keep mirroring after a database hiccup
            logger.exception("The mirror worker failed; retrying in a minute")
            delay = 60
        _wake.wait(timeout=delay)
        _wake.clear()


def process_queue(now: datetime | None = None) -> float:
    """Push if a queued push is due; return the seconds until the next one is due."""
    url = mirror_url()
    if not url:
        return 300
    now = now or utcnow()
    row = db.session.scalar(
        select(MirrorPush)
        .where(MirrorPush.status == "pending", MirrorPush.next_attempt_at <= now)
        .order_by(MirrorPush.id)
        .limit(1)
    )
    if row is None:
        upcoming = db.session.scalar(
            select(MirrorPush.next_attempt_at)
            .where(MirrorPush.status == "pending")
            .order_by(MirrorPush.next_attempt_at)
            .limit(1)
        )
        db.session.commit()
        if upcoming is None:
            return 300
        return max(1.0, min(300.0, (aware(upcoming) - now).total_seconds()))
    # Claim it by compare-and-set, so two processes do not push for the same request.
    claimed = db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.id == row.id, MirrorPush.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    ).rowcount
    db.session.commit()
    if not claimed:
        return 1
    gitstore = documents.store()
    head = gitstore.head(MAIN)
    try:
        gitstore.push(url)
    except GitStoreError as exc:
        attempts = row.attempts + 1
        db.session.execute(
            update(MirrorPush)
            .execution_options(synchronize_session=False)
            .where(MirrorPush.id == row.id)
            .values(
                attempts=attempts,
                last_error=str(exc)[:4000],
                last_failed_at=now,
                next_attempt_at=now + timedelta(seconds=backoff(attempts)),
            )
        )
        db.session.commit()
        logger.warning("Mirror push to %s failed: %s", shown_url(url), exc)
        return backoff(attempts)
    # Everything queued up to the claimed row is on the mirror now: main and the tags
    # as they were when the push read them include every release committed before it.
    db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.status == "pending", MirrorPush.id <= row.id)
        .values(status="done", finished_at=utcnow(), commit=head, attempts=MirrorPush.attempts + 1)
    )
    db.session.commit()
    return 0.1


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


def push_now() -> None:
    """Queue a push and carry it out at once (the command line and the status page)."""
    request_push("requested by hand")
    db.session.commit()
    db.session.execute(
        update(MirrorPush)
        .execution_options(synchronize_session=False)
        .where(MirrorPush.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    process_queue()

"""``/healthz``: whether this instance can serve, for nginx, a load balancer or a monitor.

Three things must hold: the database answers, the document repository is there with its
main branch and may be written, and a job worker has been seen lately. The worker leaves
its heartbeat in the queue's own storage (:func:`qms.jobs.beat`), which every web process
of the installation reads, whichever host the worker runs on.

The answer is JSON, 200 when all three hold and 503 naming what failed. It needs no
sign-in, touches no session and never loads a user, so that it still answers when the
database does not. What went wrong in detail goes to the log, not to the anonymous caller.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import text

from qms import jobs
from qms.extensions import db
from qms.gitstore import MAIN, GitStore, GitStoreError
from qms.i18n import locale_from_header

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

#: A check answers None when all is well, or the reason it failed (shown to the caller).
Check = Callable[[], "str | None"]


def check_database() -> str | None:
    """Whether the database answers a query."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        log.warning("Health: the database does not answer", exc_info=True)
        db.session.rollback()
        return _("The database does not answer.")
    return None


def check_repository() -> str | None:
    """Whether the document repository is there, has its main branch and may be written."""
    path = Path(current_app.config["QMS_DOCUMENTS_REPO"])
    try:
        store = GitStore(path)
    except GitStoreError:
        log.warning("Health: no document repository at %s", path)
        return _("The document repository is missing.")
    try:
        if store.head(MAIN) is None:
            log.warning("Health: the document repository at %s has no main branch", path)
            return _("The document repository has no main branch.")
    finally:
        store.close()
    # A release writes objects and moves refs: a repository this process may only read
    # (a read-only mount, a wrong owner on shared storage) would fail the next release.
    for folder in ("objects", "refs"):
        if not os.access(path / folder, os.W_OK | os.X_OK):
            log.warning("Health: %s is not writable by this process", path / folder)
            return _("The document repository cannot be written.")
    return None


def check_worker() -> str | None:
    """Whether a job worker has left its heartbeat recently enough."""
    if current_app.config.get("QMS_JOBS_IMMEDIATE"):
        return None  # jobs run in the process that enqueues them: there is no worker
    limit = current_app.config["QMS_WORKER_STALE_SECONDS"]
    try:
        beat = jobs.last_beat()
    except Exception:
        log.warning("Health: the job queue's storage cannot be read", exc_info=True)
        return _("The job queue cannot be read.")
    if beat is None:
        return _("No job worker has started.")
    age = time.time() - beat["at"]
    if age > limit:
        seen = datetime.fromtimestamp(beat["at"], UTC).isoformat(timespec="seconds")
        log.warning("Health: the job worker was last seen at %s on %s", seen, beat["host"])
        return _("The job worker has not been seen for %(seconds)d seconds.", seconds=int(age))
    return None


CHECKS: dict[str, Check] = {
    "database": check_database,
    "repository": check_repository,
    "worker": check_worker,
}


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database, the repository and the worker are fine, else 503."""
    started = time.monotonic()
    # The caller's language from the header: the user's saved one would need the database.
    with force_locale(locale_from_header()):
        failures = {name: reason for name, check in CHECKS.items() if (reason := check())}
    body = {
        "status": "fail" if failures else "ok",
        "checks": {
            name: {
                "ok": name not in failures,
                **({"error": failures[name]} if name in failures else {}),
            }
            for name in CHECKS
        },
        "failed": sorted(failures),
        "ms": round((time.monotonic() - started) * 1000, 1),
    }
    response = jsonify(body)
    response.status_code = 503 if failures else 200
    # A monitor must see the state of now, never a cached answer.
    response.headers["Cache-Control"] = "no-store"
    return response

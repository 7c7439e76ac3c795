"""The job runner: scheduled and long work runs in ``flask qms worker``, never in a request.

Built on huey: its SQLite storage keeps the queue in one file of the instance, so the
embedded installation needs no server, and the same jobs run on PostgreSQL or Redis when
several hosts share the work (``QMS_JOBS_URL``). It is small, well kept, and brings what
is needed here and nothing more: a consumer with worker threads, retries with backoff and
a periodic scheduler.

A job is a plain function registered here with :func:`job` or :func:`periodic`. Each app
builds its own queue on first use, so every job knows the app it runs in; the worker
creates the app once and each job body runs in an app context of its own (its own
database session and repository). Every periodic job is idempotent: two workers, or a
run after a restart, never do the same work twice.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, current_app
from huey import Huey, PostgresHuey, RedisHuey, RetryTask, SqliteHuey, crontab
from huey.api import TaskWrapper

from qms import attachments, clock, uow
from qms.gitstore import RefConflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A registered job: its body and, for periodic jobs, when it runs (local time)."""

    fn: Callable
    schedule: dict | None = None
    retries: int = 0
    retry_delay: int = 0
    retry_backoff: float = 0


#: Every job by name, registered at import; each app's queue is built from this table.
JOBS: dict[str, Job] = {}


def job(name: str, *, retries: int = 0, retry_delay: int = 0, retry_backoff: float = 0):
    """Register the decorated function as the job ``name``, run when enqueued."""

    def decorator(fn: Callable) -> Callable:
        JOBS[name] = Job(fn, None, retries, retry_delay, retry_backoff)
        return fn

    return decorator


def periodic(name: str, **schedule):
    """Register the decorated function as the job ``name``, run on a crontab ``schedule``.

    The schedule (``minute``, ``hour``, ``day``, ``month``, ``day_of_week``) is read in the
    organisation's zone (``QMS_TIMEZONE``), so "hour=8" is eight o'clock at the office.
    """

    def decorator(fn: Callable) -> Callable:
        JOBS[name] = Job(fn, schedule)
        return fn

    return decorator


# -- the queue --------------------------------------------------------------------------------


@dataclass
class Queue:
    """One app's huey instance and its task wrappers by job name."""

    huey: Huey
    tasks: dict[str, TaskWrapper] = field(default_factory=dict)


def storage_for(url: str) -> tuple[type[Huey], dict]:
    """Return the huey class and its storage options for ``QMS_JOBS_URL``.

    :raises ValueError: the URL names no storage huey has.
    """
    scheme = url.partition("://")[0].split("+")[0].lower()
    if scheme == "sqlite" and url.startswith("sqlite:///"):
        return SqliteHuey, {"filename": url[len("sqlite:///") :]}
    if scheme in ("postgresql", "postgres"):
        # An SQLAlchemy URL may name its driver (postgresql+psycopg://); libpq does not.
        return PostgresHuey, {"dsn": "postgresql://" + url.partition("://")[2]}
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey, {"url": url}
    raise ValueError(f"QMS_JOBS_URL {url!r} is not sqlite:///<file>, postgresql://… or redis://…")


def queue(app: Flask | None = None) -> Queue:
    """Return the app's queue, built on first use from its configuration."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("qms.jobs")
    if found is None:
        found = app.extensions["qms.jobs"] = _build(app)
    return found


def _build(app: Flask) -> Queue:
    cls, options = storage_for(app.config["QMS_JOBS_URL"])
    # Immediate mode (tests, or an installation that wants no worker) runs each job at
    # once in the process that enqueues it, on in-memory storage.
    immediate = bool(app.config.get("QMS_JOBS_IMMEDIATE"))
    huey = cls("qms", results=False, immediate=immediate, utc=True, **options)
    with app.app_context():
        zone = clock.zone()
    built = Queue(huey)
    for name, spec in JOBS.items():
        body = _in_app(app, spec.fn)
        settings = {
            "name": name,
            "retries": spec.retries,
            "retry_delay": spec.retry_delay,
            "retry_backoff": spec.retry_backoff,
        }
        if spec.schedule is None:
            built.tasks[name] = huey.task(**settings)(body)
        else:
            when = _local(crontab(**spec.schedule), zone)
            built.tasks[name] = huey.periodic_task(when, **settings)(body)
    return built


def _local(matches: Callable[[datetime], bool], zone) -> Callable[[datetime], bool]:
    """Read a crontab in the organisation's zone; huey hands it naive UTC times."""

    def validate(timestamp: datetime) -> bool:
        local = timestamp.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        return matches(local)

    return validate


def _in_app(app: Flask, fn: Callable) -> Callable:
    """Run ``fn`` in an app context of its own: its own session, its own repository."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with app.app_context():
            return fn(*args, **kwargs)

    return run


def enqueue(name: str, *args, delay: float | None = None) -> None:
    """Hand the job ``name`` to the worker (or run it now in immediate mode)."""
    task = queue().tasks[name]
    if delay:
        task.schedule(args, delay=delay)
    else:
        task(*args)


def enqueue_after_commit(name: str, *args) -> None:
    """Enqueue the job once the current unit of work commits; never if it rolls back."""
    app = current_app._get_current_object()
    uow.after_commit(lambda: enqueue_in(app, name, *args))


def enqueue_in(app: Flask, name: str, *args) -> None:
    queue(app).tasks[name](*args)


def run_now(name: str, *args):
    """Run a job's body here and now, in an app context of its own (the command line)."""
    return _in_app(current_app._get_current_object(), JOBS[name].fn)(*args)


# -- the worker -------------------------------------------------------------------------------


START_UP_ATTEMPTS = 10


def start_up() -> None:
    """Mend what a crash left before taking work: refs, and imports cut off mid-way."""
    from qms.transfer import services as transfer

    # A git killed a moment ago may have left packed-refs.lock, which is taken for stale
    # only once it is a few seconds old: try again for a while before giving up.
    for attempt in range(START_UP_ATTEMPTS):
        try:
            mended = uow.recover()
        except RefConflict:
            if attempt == START_UP_ATTEMPTS - 1:
                log.exception("Recovering the repository failed; it is retried every 10 min")
                break
            time.sleep(1)
        except Exception:  # the periodic recovery tries again; the queue must still be worked
            log.exception("Recovering the repository failed; it is retried every 10 min")
            break
        else:
            if mended:
                log.warning("Put back %s ref(s) the database never acknowledged", len(mended))
            break
    transfer.resume_interrupted(starting=True)


def run_worker(app: Flask, workers: int = 2, periodic: bool = True) -> None:
    """Run the consumer until it is stopped (SIGINT finishes running jobs first)."""
    built = queue(app)
    if built.huey.immediate:
        raise RuntimeError("QMS_JOBS_IMMEDIATE is set: there is no queue for a worker to run")
    with app.app_context():
        start_up()
        # Seen at once, not only at the first full minute (what /healthz reads).
        beat()
    # An idle worker looks at the queue at least every two seconds, so an import started
    # on the page begins at once; on SQLite a look is one cheap query.
    consumer = built.huey.create_consumer(
        workers=workers,
        periodic=periodic,
        worker_type="thread",
        check_worker_health=True,
        max_delay=2.0,
    )
    consumer.run()


#: Where the worker's heartbeat is kept in the queue's storage (huey's key-value table).
HEARTBEAT_KEY = "qms:worker-heartbeat"


def beat() -> None:
    """Leave the worker's heartbeat where every web process reads it: the queue's storage.

    The queue is the one store every worker and web process of an installation shares,
    whichever host each runs on; a web process reads it with :func:`last_beat`.
    """
    queue().huey.put(
        HEARTBEAT_KEY, {"at": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
    )


def last_beat() -> dict | None:
    """Return the newest heartbeat (``at`` in seconds since the epoch, ``host``, ``pid``)."""
    return queue().huey.get(HEARTBEAT_KEY, peek=True)


# -- the jobs ---------------------------------------------------------------------------------
# Bodies import their domains when they run: the domains import this module to enqueue.


@periodic("heartbeat", minute="*")
def heartbeat() -> None:
    """Tell /healthz, every minute, that a worker is taking work from the queue."""
    beat()


@periodic("release_due", minute="*/5")
def release_due() -> list[str]:
    """Make effective every scheduled revision whose effective date has come."""
    from qms.documents import services as documents

    done = [f"{rev.document.code}/{rev.label}" for rev in documents.apply_due_releases()]
    if done:
        log.info("Now effective: %s", ", ".join(done))
    return done


@periodic("reminders", minute="5", hour="7-19")
def reminders() -> list[str]:
    """Mail the reminders of NCs and actions due soon or overdue; each is sent once."""
    from qms.improvement import mail

    return mail.send_reminders()


@periodic("training_reminders", minute="35", hour="7-19")
def training_reminders() -> list[str]:
    """Mail each person their training due within a week or overdue; each is sent once."""
    from qms.training import matrix

    return matrix.send_reminders()


@periodic("supplier_reminders", minute="45", hour="7-19")
def supplier_reminders() -> list[str]:
    """Mail each owner the provider re-evaluations due within two weeks; each is sent once."""
    from qms.suppliers import reminders

    return reminders.send_reminders()


@periodic("equipment_due", minute="45", hour="7-19")
def equipment_due() -> dict:
    """Turn overdue instruments out of calibration; remind owners once per due date."""
    from qms.equipment import services as equipment

    return equipment.run_daily()


@job("notice_mail", retries=6, retry_delay=30, retry_backoff=2)
def notice_mail(ids: list[int]) -> list[int]:
    """Mail the notices not mailed yet; those the server refused are tried again later."""
    from qms.notifications import services as notifications

    return notifications.send_mail(ids)


@job("mirror_push", retries=8, retry_delay=5, retry_backoff=2)
def mirror_push() -> None:
    """Push main and the tags to the mirror; a failure is retried with a growing delay."""
    from qms.transfer import mirror

    try:
        mirror.push_due(strict=True)
    except mirror.NotDue as wait:
        # Backing off after another attempt failed: come back when it is due.
        raise RetryTask(delay=wait.seconds) from None


@periodic("mirror_sweep", minute="*")
def mirror_sweep() -> None:
    """Push what is queued and due, whatever enqueued it (or if its job was lost)."""
    from qms.transfer import mirror

    mirror.push_due()


@periodic("upstream_sync", minute="20")
def upstream_sync() -> list[str]:
    """Fetch the upstreams followed and raise a change request for each newer revision."""
    from qms.adoption import services as adoption
    from qms.errors import Conflict

    try:
        return [change.change_request for change in adoption.sync_all()]
    except Conflict as exc:  # no administrator to act as: nothing to do until there is one
        log.info("Upstream sync skipped: %s", exc.message)
        return []


@periodic("review_notices", minute="15", hour="8-17")
def review_notices() -> list[str]:
    """Tell the approvers which documents are newly due for periodic review, once each.

    A document is announced once per review date (when it enters the approvers' 30-day
    window); the claim is kept in the queue's storage, so every worker sees it.
    """
    from sqlalchemy import select

    from qms.auth.models import User
    from qms.documents import services as documents
    from qms.extensions import db
    from qms.improvement import mail
    from qms.notifications import services as notifications

    huey = queue().huey
    due = db.session.scalars(
        documents.list_documents(status="effective", sort="next_review_due").where(
            documents.Document.next_review_due <= documents.next_review_window()
        )
    ).all()
    claimed = []
    for doc in due:
        key = f"review-notice:{doc.code}:{doc.next_review_due.isoformat()}"
        if huey.put_if_empty(key, "1"):
            claimed.append((key, doc))
    if not claimed:
        return []
    docs = [doc for _key, doc in claimed]
    lines = [f"{doc.code} {doc.next_review_due.isoformat()}" for doc in docs]
    # The owners see it on their home page too; the digest below is its mail.
    notifications.record_review_due(docs)
    smtp = mail.settings()
    if smtp is None:
        log.info("Due for periodic review (no SMTP host to tell anyone): %s", "; ".join(lines))
        return lines
    approvers = [
        u
        for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
        if u.has_role("approver")
    ]
    today = clock.today()
    sent = 0
    for user in approvers:
        message = mail.compose(user, "jobs/review_due.txt", documents=docs, today=today)
        sent += mail.deliver(message, smtp)
    if approvers and not sent:
        # Nobody was told: give the claims up, so the next run tries again.
        for key, _doc in claimed:
            huey.delete(key)
        return []
    return lines


@periodic("trail_anchor", minute="50")
def trail_anchor() -> str | None:
    """Anchor the audit trail's head in git (hourly; releases anchor it as well).

    First puts the allowed signers on main if they are not there yet (an installation
    upgraded from before signing), so that the anchor's signature can be checked.
    """
    from qms import anchors, signing

    signing.publish("Publish the installation's allowed signers and verifier")
    return anchors.anchor()


@periodic("recover", minute="*/10")
def recover() -> None:
    """Put back refs a crashed process left, sweep files it left unnamed, resume imports."""
    from qms.transfer import services as transfer

    uow.recover()
    swept = attachments.sweep_orphans()
    if swept:
        log.warning("Removed %s attached file(s) that no committed row names", len(swept))
    transfer.resume_interrupted()


@job("webhook_deliver")
def webhook_deliver(delivery_id: int) -> str:
    """POST one webhook delivery, signed; a failure is tried again (RetryTask) with a
    doubling delay until the delivery's attempts are spent (qms.webhooks.services)."""
    from qms.webhooks import services as webhooks

    return webhooks.deliver(delivery_id)


@periodic("webhook_sweep", minute="*/10")
def webhook_sweep() -> dict:
    """Send again the webhook deliveries whose job was lost; prune the old ones."""
    from qms.webhooks import services as webhooks

    return webhooks.sweep()


@periodic("webhook_overdue", minute="25")
def webhook_overdue() -> list[str]:
    """Emit ``action.overdue`` for each action that became overdue; once per due date."""
    from qms.webhooks import services as webhooks

    return webhooks.emit_overdue_actions()


@job("import")
def run_import(job_id: int, stage: str, language: str | None = None) -> None:
    """Run an import's dry run ("check") or the import itself ("import")."""
    from qms.transfer import services as transfer

    transfer.work(job_id, stage, language)

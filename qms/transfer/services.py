"""Import jobs from the browser: staged uploads, a dry run and the import in the worker.

A job's work runs in the job worker (:mod:`qms.jobs`), never in a web process, so a web
worker's restart does not cut it off and the page shows a progress bar that moves: the
job writes its progress to a file beside the staged upload (and to the ``import_job``
row on its own connection where that cannot wait), and the page polls it. The import
itself is one unit of work, all or nothing, together with the job's own row; a job whose
worker died is run again once when a worker starts, then marked failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path, PurePosixPath

from flask import current_app, has_request_context
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update

from qms import jobs, uow
from qms.auth.models import User
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.transfer import importing, mirror
from qms.transfer.models import RUNNING, ImportedOriginal, ImportJob
from qms.uow import transactional

logger = logging.getLogger(__name__)

# A running job that has not reported for this long has lost its worker.
STALLED_AFTER = 15 * 60
# Beside the staged files: the progress a running job last reported.
PROGRESS_FILE = "progress.json"
# A job is run at most this often: one that keeps killing its worker is not run again.
MAX_ATTEMPTS = 2


def require_admin(actor: User) -> None:
    if not actor.has_role("admin"):
        raise PermissionDenied(_("This needs the role: %(roles)s.", roles="admin"))


def staging_root() -> Path:
    return Path(current_app.config["QMS_INSTANCE"]) / "imports"


def _safe_name(filename: str) -> str:
    """Keep a file's own name (Chinese included) but never a path or a hidden file."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if not name or name.startswith(".") or len(name.encode("utf-8")) > 240:
        raise ValidationFailed(
            _("The file name %(name)s cannot be used.", name=filename), field="files"
        )
    return name


@transactional
def create_job(
    actor: User,
    uploads: list[tuple[str, bytes]],
    mapping: tuple[str, bytes] | None = None,
    pattern: str | None = None,
) -> ImportJob:
    """Stage the uploaded files (one zip, or documents) and start the dry run.

    :raises ValidationFailed: no file, a zip among other files, a bad pattern or mapping.
    """
    require_admin(actor)
    uploads = [(name, data) for name, data in uploads if name]
    if not uploads:
        raise ValidationFailed(_("Choose a zip file or the documents to import."), field="files")
    zips = [name for name, _data in uploads if name.lower().endswith(".zip")]
    if zips and len(uploads) > 1:
        raise ValidationFailed(
            _("Upload either one zip file or the documents themselves, not both."), field="files"
        )
    pattern = (pattern or "").strip() or None
    if pattern:
        try:
            if "code" not in re.compile(pattern).groupindex:
                raise ValidationFailed(
                    _("The file-name pattern needs a group named code: (?P<code>…)."),
                    field="pattern",
                )
        except re.error as exc:
            raise ValidationFailed(
                _("The file-name pattern is not a valid regular expression: %(error)s", error=exc),
                field="pattern",
            ) from exc
    if mapping is not None and not mapping[0].lower().endswith(".csv"):
        raise ValidationFailed(_("The mapping must be a CSV file."), field="mapping")

    folder = staging_root() / f"{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"
    files = folder / "files"
    files.mkdir(parents=True)
    # A refused upload leaves nothing staged.
    uow.after_rollback(lambda: shutil.rmtree(folder, ignore_errors=True))
    names = set()
    for name, data in uploads:
        name = _safe_name(name)
        if name in names:
            raise ValidationFailed(_("Two files are named %(name)s.", name=name), field="files")
        names.add(name)
        (files / name).write_bytes(data)
    if mapping is not None:
        (folder / "mapping.csv").write_bytes(mapping[1])
    job = ImportJob(
        created_by_id=actor.id,
        status="queued",
        stage="",
        source_dir=str(folder),
        source_name=zips[0] if zips else ngettext("%(num)s file", "%(num)s files", len(uploads)),
        mapping_name=mapping[0] if mapping else None,
        pattern=pattern,
    )
    db.session.add(job)
    db.session.flush()
    jobs.enqueue_after_commit("import", job.id, "check", _language())
    return job


def get_job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(_("There is no import %(id)s.", id=job_id))
    return job


def recent_jobs(limit: int = 20) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


@transactional
def confirm(actor: User, job: ImportJob) -> ImportJob:
    """Import the files of a dry run that found no problem, in the worker."""
    require_admin(actor)
    if job.status != "checked":
        raise Conflict(_("This import is not waiting to be confirmed."))
    if job.problem_count:
        raise Conflict(_("Correct the problems first: nothing is imported while any remains."))
    job.status = "importing"
    job.stage = ""
    job.done = 0
    job.worker = None
    job.attempts = 0
    job.heartbeat_at = utcnow()
    jobs.enqueue_after_commit("import", job.id, "import", _language())
    return job


def _language() -> str | None:
    # The job answers in the language of the person who started it.
    if not has_request_context():
        return None
    return str(get_locale() or "en").replace("_", "-")


def stalled(job: ImportJob) -> bool:
    """Tell whether a running job has stopped reporting (no worker runs it)."""
    last = aware(job.heartbeat_at).timestamp()
    with contextlib.suppress(OSError):
        last = max(last, (Path(job.source_dir) / PROGRESS_FILE).stat().st_mtime)
    return job.running and time.time() - last > STALLED_AFTER


def live_progress(job: ImportJob) -> tuple[str, int, int]:
    """Return a job's (stage, done, total): from its progress file while it runs."""
    if job.running:
        try:
            data = json.loads((Path(job.source_dir) / PROGRESS_FILE).read_text())
            return str(data["stage"]), int(data["done"]), int(data["total"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not written yet, or already cleared with the staged files
    return job.stage, job.done, job.total


def _progress_writer(job_id: int, folder: Path):
    """Return progress(stage, done, total) that the page sees at once, throttled.

    Every report goes to the job's progress file, written whole and renamed into place;
    reports also update the job's row on their own connection, except while the import's
    transaction records the batch: on SQLite that write would wait for the transaction.
    """
    last = [0.0, ""]
    path = folder / PROGRESS_FILE

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == last[1] and done < total and now - last[0] < 0.25:
            return
        last[0], last[1] = now, stage
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps({"stage": stage, "done": done, "total": total}))
        partial.replace(path)
        if stage == "recording":
            return
        with db.engine.begin() as conn:
            conn.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(stage=stage, done=done, total=total, heartbeat_at=utcnow())
            )

    return progress


def _source(job: ImportJob) -> Path:
    """Return what to import: the uploaded zip, or the folder of uploaded documents."""
    files = Path(job.source_dir) / "files"
    found = list(files.iterdir())
    return found[0] if len(found) == 1 and found[0].suffix.lower() == ".zip" else files


def _mapping(job: ImportJob) -> bytes | None:
    path = Path(job.source_dir) / "mapping.csv"
    return path.read_bytes() if job.mapping_name and path.exists() else None


# -- the job, in the worker -------------------------------------------------------------


def worker_id() -> str:
    """Name this process as the one running a job: host and process id."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


@transactional
def _claim(job_id: int) -> bool:
    """Take the job for this process, unless another worker runs it or it is finished."""
    return bool(
        db.session.execute(
            update(ImportJob)
            .execution_options(synchronize_session=False)
            .where(
                ImportJob.id == job_id,
                ImportJob.status.in_(RUNNING),
                ImportJob.worker.is_(None),
            )
            .values(worker=worker_id(), attempts=ImportJob.attempts + 1, heartbeat_at=utcnow())
        ).rowcount
    )


def work(job_id: int, stage: str, language: str | None = None) -> None:
    """Run a job's dry run ("check") or its import ("import"); the body of the job.

    Run twice (a duplicate in the queue), the second run finds the job taken and returns.
    """
    app = current_app._get_current_object()
    if language is None:
        user = db.session.scalar(
            select(User)
            .join(ImportJob, ImportJob.created_by_id == User.id)
            .where(ImportJob.id == job_id)
        )
        language = (user.locale if user and user.locale else "en").replace("_", "-")
    # A request context of its own, so that messages are translated as for the admin.
    with app.test_request_context(headers={"Accept-Language": language}):
        if not _claim(job_id):
            logger.info("Import %s is finished or taken by another worker; skipped", job_id)
            return
        try:
            job = get_job(job_id)
            progress = _progress_writer(job_id, Path(job.source_dir))
            if stage == "check":
                _check(job_id, progress)
            else:
                _import(job_id, progress)
        except ServiceError as exc:
            db.session.rollback()
            _fail(job_id, exc.message, exc.detail)
        except Exception as exc:  # the job is the last place to catch it; show it
            logger.exception("Import %s failed", job_id)
            db.session.rollback()
            _fail(job_id, f"{type(exc).__name__}: {exc}", None)
        finally:
            uow.close_store()
            db.session.remove()


def _check(job_id: int, progress) -> None:
    _mark_checking(job_id)
    job = get_job(job_id)
    prepared = importing.prepare(_source(job), _mapping(job), job.pattern, progress=progress)
    _record_plan(job_id, prepared.plan)


@transactional
def _mark_checking(job_id: int) -> None:
    get_job(job_id).status = "checking"


@transactional
def _record_plan(job_id: int, plan: importing.Plan) -> None:
    job = get_job(job_id)
    job.plan = plan.as_dict()
    job.problem_count = plan.problem_count
    job.total = len(plan.items)
    job.status = "checked"
    job.stage = ""
    job.finished_at = utcnow()


@transactional
def _import(job_id: int, progress) -> None:
    """Import the staged files and record the job as done, in one unit of work."""
    job = get_job(job_id)
    actor = db.session.get(User, job.created_by_id)
    commit, prepared = import_files(
        actor, _source(job), _mapping(job), job.pattern, progress=progress, job=job
    )
    # The job's row is written last: the progress writer updates it on its own connection.
    job.commit = commit
    job.status = "done"
    job.done = job.total = len(prepared.items)
    job.stage = ""
    job.finished_at = utcnow()
    folder = job.source_dir
    # The originals are in the repository now; the staged copies can go.
    uow.after_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


@transactional
def _fail(job_id: int, message: str, detail) -> None:
    job = get_job(job_id)
    job.status = "failed"
    job.error = message
    if isinstance(detail, dict):
        plan = importing.Plan.from_dict(job.plan or {})
        by_source = {item.source: item for item in plan.items}
        for source, problems in detail.items():
            if source in by_source:
                by_source[source].problems = list(problems)
            else:
                plan.problems.extend(f"{source}: {p}" if source else p for p in problems)
        job.plan = plan.as_dict()
        job.problem_count = plan.problem_count
    job.finished_at = utcnow()


def _owner_gone(job: ImportJob, starting: bool) -> bool:
    """Tell whether the worker that took ``job`` is gone."""
    host, _sep, pid = (job.worker or "").rpartition(":")
    if host != socket.gethostname()[:80] or not pid.isdigit():
        # Another host's worker: only its silence tells.
        return stalled(job)
    if int(pid) == os.getpid():
        # A worker starting with the pid of the one that took the job (a container's
        # pid 1, say) is not that worker; a running one is.
        return starting
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@transactional
def resume_interrupted(starting: bool = False) -> list[int]:
    """Run again the imports whose worker died; fail those that were run twice already.

    The import is one unit of work, so a job cut off mid-way left nothing behind and is
    safe to run again; its dry run only reads. Return the ids of the jobs run again.
    """
    resumed = []
    running = db.session.scalars(select(ImportJob).where(ImportJob.status.in_(RUNNING)))
    for job in running:
        if job.worker is None:
            # Not taken yet; a job waiting this long lost its place in the queue.
            if not stalled(job):
                continue
        elif not _owner_gone(job, starting):
            continue
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.error = _(
                "The job worker stopped each time this import ran (%(count)s times).",
                count=job.attempts,
            )
            job.finished_at = utcnow()
            logger.warning("Import %s failed: its worker stopped %s times", job.id, job.attempts)
            continue
        stage = "import" if job.status == "importing" else "check"
        job.worker = None
        job.heartbeat_at = utcnow()
        jobs.enqueue_after_commit("import", job.id, stage, None)
        resumed.append(job.id)
        logger.warning("Import %s was cut off by a stopped worker; running it again", job.id)
    return resumed


# -- importing -----------------------------------------------------------------------------


@transactional
def import_files(
    actor: User,
    source,
    mapping: bytes | None = None,
    pattern: str | None = None,
    types: dict[str, str] | None = None,
    progress=None,
    job: ImportJob | None = None,
) -> tuple[str, importing.Prepared]:
    """Import every file of ``source`` and index the originals kept, all or nothing."""
    commit, prepared = importing.run(actor, source, mapping, pattern, types, progress)
    _record_originals(job, commit, prepared)
    mirror.request_push(f"import of {len(prepared.items)} documents")
    return commit, prepared


def _record_originals(job: ImportJob | None, commit: str, prepared: importing.Prepared) -> None:
    """Index the originals the import kept in the repository."""
    for item in prepared.items:
        for name, data in item.files.items():
            if not name.startswith("original/"):
                continue
            db.session.add(
                ImportedOriginal(
                    job_id=job.id if job else None,
                    document_code=item.code,
                    path=f"{documents.attachment_dir(item.doc_type, item.code)}/{name}",
                    commit=commit,
                    filename=PurePosixPath(name).name,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )


def originals_of(code: str) -> list[ImportedOriginal]:
    return list(
        db.session.scalars(
            select(ImportedOriginal)
            .where(ImportedOriginal.document_code == code)
            .order_by(ImportedOriginal.id)
        )
    )


def originals_of_job(job_id: int) -> list[ImportedOriginal]:
    return list(
        db.session.scalars(select(ImportedOriginal).where(ImportedOriginal.job_id == job_id))
    )


def original_file(original_id: int) -> tuple[ImportedOriginal, bytes]:
    """Return an imported original and its bytes, read from the repository."""
    original = db.session.get(ImportedOriginal, original_id)
    if original is None:
        raise NotFound(_("There is no such original file."))
    data = documents.store().read(original.commit, original.path)
    if data is None:
        raise NotFound(_("The original file is no longer in the repository."))
    return original, data

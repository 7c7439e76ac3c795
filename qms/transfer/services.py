"""Import jobs from the browser: staged uploads, a dry run and the import in the background.

A job's work runs in a thread of the web process so that the page can show a progress bar
that moves: the thread writes its progress to a file beside the staged upload (and to the
``import_job`` row on its own connection where that cannot wait), and the page polls it.
The import itself is one transaction of :func:`qms.documents.services.import_documents`,
all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
import shutil
import threading
import time
from pathlib import Path, PurePosixPath

from flask import current_app
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update

from qms import uow
from qms.auth.models import User
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.transfer import importing
from qms.transfer.models import ImportedOriginal, ImportJob

logger = logging.getLogger(__name__)

# Threads by job id, so that tests and shutdown can wait for them.
THREADS: dict[int, threading.Thread] = {}
# A running job that has not reported for this long has lost its worker (a restart).
STALLED_AFTER = 15 * 60
# Beside the staged files: the progress a running job last reported.
PROGRESS_FILE = "progress.json"


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
    db.session.commit()
    start(job.id, "check")
    return job


def get_job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(_("There is no import %(id)s.", id=job_id))
    return job


def recent_jobs(limit: int = 20) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def confirm(actor: User, job: ImportJob) -> ImportJob:
    """Import the files of a dry run that found no problem, in the background."""
    require_admin(actor)
    if job.status != "checked":
        raise Conflict(_("This import is not waiting to be confirmed."))
    if job.problem_count:
        raise Conflict(_("Correct the problems first: nothing is imported while any remains."))
    job.status = "importing"
    job.stage = ""
    job.done = 0
    job.heartbeat_at = utcnow()
    db.session.commit()
    start(job.id, "import")
    return job


def stalled(job: ImportJob) -> bool:
    """Tell whether a running job has stopped reporting (its worker process ended)."""
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


def start(job_id: int, stage: str) -> None:
    """Run a job's dry run or import in a background thread of this process."""
    app = current_app._get_current_object()
    # The thread answers in the language of the person who started it.
    language = str(get_locale() or "en").replace("_", "-")
    thread = threading.Thread(
        target=_work,
        args=(app, job_id, stage, language),
        name=f"qms-import-{job_id}",
        daemon=True,
    )
    THREADS[job_id] = thread
    thread.start()


def wait(job_id: int, timeout: float = 120) -> None:
    """Wait for a job's thread to finish (tests and the command line)."""
    thread = THREADS.get(job_id)
    if thread is not None:
        thread.join(timeout)


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


def _work(app, job_id: int, stage: str, language: str = "en") -> None:
    # A request context of its own, so that messages are translated as for the admin.
    with app.test_request_context(headers={"Accept-Language": language}):
        try:
            job = get_job(job_id)
            actor = db.session.get(User, job.created_by_id)
            progress = _progress_writer(job_id, Path(job.source_dir))
            if stage == "check":
                job.status = "checking"
                db.session.commit()
                prepared = importing.prepare(
                    _source(job), _mapping(job), job.pattern, progress=progress
                )
                job = get_job(job_id)
                job.plan = prepared.plan.as_dict()
                job.problem_count = prepared.plan.problem_count
                job.total = len(prepared.plan.items)
                job.status = "checked"
            else:
                commit, prepared = importing.run(
                    actor, _source(job), _mapping(job), job.pattern, progress=progress
                )
                job = get_job(job_id)
                _record_originals(job, commit, prepared)
                job.commit = commit
                job.status = "done"
                job.done = job.total = len(prepared.items)
                # The originals are in the repository now; the staged copies can go.
                shutil.rmtree(job.source_dir, ignore_errors=True)
            job.stage = ""
            job.finished_at = utcnow()
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            _fail(job_id, exc.message, exc.detail)
        except Exception as exc:  # the thread is the last place to catch it; show it
            logger.exception("Import %s failed", job_id)
            db.session.rollback()
            _fail(job_id, f"{type(exc).__name__}: {exc}", None)
        finally:
            uow.close_store()
            db.session.remove()


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
    db.session.commit()


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


def record_originals(commit: str, prepared: importing.Prepared) -> None:
    """Index the originals of an import made from the command line, and commit."""
    _record_originals(None, commit, prepared)
    db.session.commit()


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

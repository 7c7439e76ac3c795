"""Import jobs with their progress, the originals they kept, and the mirror's push queue."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

# queued -> checking -> checked -> importing -> done; failed from any running state.
JOB_STATUSES = ("queued", "checking", "checked", "importing", "done", "failed")
RUNNING = ("queued", "checking", "importing")


class ImportJob(db.Model):
    """One import from the browser: the uploaded files, the dry run's plan, the progress."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # What the job is doing now: converting, checking, writing, recording.
    stage: Mapped[str] = mapped_column(String(20), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Refreshed with the progress, so a job whose worker died shows as stalled.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The worker process running the job ("host:pid"), and how often one has taken it.
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The staging folder under the instance holding the uploaded files until the import.
    source_dir: Mapped[str] = mapped_column(String(500))
    source_name: Mapped[str] = mapped_column(String(300))
    mapping_name: Mapped[str | None] = mapped_column(String(300))
    pattern: Mapped[str | None] = mapped_column(String(300))
    # The dry run: {"items": [...], "skipped": [...], "problems": [...]}.
    plan: Mapped[dict | None] = mapped_column(JSON)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    commit: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship(lazy="joined")

    @property
    def running(self) -> bool:
        return self.status in RUNNING


class ImportedOriginal(db.Model):
    """The original file a document was imported from, kept in the repository beside it."""

    __tablename__ = "imported_original"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("import_job.id"), index=True)
    document_code: Mapped[str] = mapped_column(String(40), index=True)
    # Where it is in the repository, at the import commit.
    path: Mapped[str] = mapped_column(String(500))
    commit: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MirrorPush(db.Model):
    """A request to push main and the tags to the mirror, retried until it succeeds."""

    __tablename__ = "mirror_push"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # pending until a push covering it succeeds; then done.
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The main commit the successful push carried.
    commit: Mapped[str | None] = mapped_column(String(40))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

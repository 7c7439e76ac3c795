"""The one store for files attached to anything: records, NC evidence, audit evidence.

Files are content-addressed: ``<QMS_ATTACHMENTS_DIR>/<aa>/<sha256>``, so the same file
attached twice is kept once and a backup can prove every byte by its name. Uploads are
streamed to disk, never held in memory, refused over one configured limit
(``QMS_MAX_ATTACHMENT_BYTES``) and typed by their content, not by what the browser
claims. Saving never commits: the row that names the file belongs to the caller's unit
of work, and when that unit rolls back the file it brought is removed again.

A domain marks each column that holds a file's hash with ``info={"attachment": True}``;
:func:`referenced` finds them all, so backups and ``qms check`` need no list of domains.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qms import uow
from qms.errors import ValidationFailed
from qms.extensions import db

CHUNK = 1024 * 1024
#: How long a stored file may stay unnamed before it counts as left by a killed process.
GRACE_SECONDS = 600

#: What may be attached, by the type read from the content. Plain text (CSV, TXT) has
#: no signature and is recognised separately.
ALLOWED = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/heic",
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/x-ole-storage",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "audio/mpeg",
    "audio/x-wav",
    "video/mp4",
    "video/quicktime",
}
TEXT = "text/plain"


@dataclass(frozen=True)
class Stored:
    """A file in the store: its hash, size, the type read from it and its cleaned name."""

    sha256: str
    size: int
    content_type: str
    name: str


def root() -> Path:
    return Path(current_app.config["QMS_ATTACHMENTS_DIR"])


def limit() -> int:
    return int(current_app.config["QMS_MAX_ATTACHMENT_BYTES"])


def path(sha256: str) -> Path:
    """Return where the file with ``sha256`` is kept (whether or not it exists)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return root() / sha256[:2] / sha256


def exists(sha256: str) -> bool:
    return path(sha256).is_file()


def clean_name(filename: str | None, default: str = "attachment") -> str:
    """Return the file's own name without any folder a browser sent with it."""
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return (name or default)[:200]


def detect(head: bytes) -> str | None:
    """Return the type the file's first bytes show, or None when it is not allowed."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED else None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The first bytes may cut a character in two: only the very end may be incomplete.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text or text.lstrip()[:1] == "<":
        return None  # markup (HTML, SVG) can carry script; it is not a plain-text record
    return TEXT


def save(stream, filename: str | None, field: str = "file") -> Stored:
    """Stream an upload into the store and return what was kept.

    :raises ValidationFailed: the file is empty, larger than the limit, or of a type that
        may not be attached; nothing is kept then.
    """
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    maximum = limit()
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > maximum:
                    raise ValidationFailed(
                        _("The file is larger than %(mb)s MB.", mb=round(maximum / 1048576, 1)),
                        field=field,
                    )
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(_("The file is empty."), field=field)
        content_type = detect(head)
        if content_type is None:
            raise ValidationFailed(
                _(
                    "%(name)s is not a kind of file that can be attached: use a picture, a PDF, "
                    "an office document or plain text.",
                    name=clean_name(filename),
                ),
                field=field,
            )
        sha = digest.hexdigest()
        target = path(sha)
        if target.exists():
            os.unlink(tmp)
            # Young again: a sweep of orphans must not take a file this work is naming.
            os.utime(target)
        else:
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
            # A refused unit of work leaves no file behind, unless a row names it by then.
            uow.after_rollback(lambda: _discard(sha))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return Stored(sha, size, content_type, clean_name(filename))


def save_bytes(data: bytes, filename: str | None, field: str = "file") -> Stored:
    """Store ``data`` as :func:`save` stores a stream."""
    from io import BytesIO

    return save(BytesIO(data), filename, field)


def _discard(sha256: str) -> None:
    if sha256 not in referenced():
        path(sha256).unlink(missing_ok=True)


def attachment_columns() -> list:
    """Return every mapped column marked as holding an attachment's sha256."""
    columns = []
    for mapper in db.Model.registry.mappers:
        for column in mapper.columns:
            if column.info.get("attachment"):
                columns.append(column)
    return columns


def referenced() -> set[str]:
    """Return the sha256 of every file a row names."""
    found: set[str] = set()
    for column in attachment_columns():
        found.update(h for h in db.session.scalars(select(column).distinct()) if h)
    return found


def stored() -> set[str]:
    """Return the sha256 of every file in the store."""
    base = root()
    if not base.is_dir():
        return set()
    return {p.name for p in base.glob("??/*") if p.is_file() and len(p.name) == 64}


def verify(sha256: str) -> bool:
    """Return whether the stored file still hashes to its name."""
    digest = hashlib.sha256()
    with path(sha256).open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def orphans(grace: float = GRACE_SECONDS) -> set[str]:
    """Return the files nothing names that are older than ``grace`` seconds.

    A younger one may belong to a unit of work still running; an older one was left by a
    process killed between storing the file and committing the row that names it.
    """
    cutoff = time.time() - grace
    return {h for h in stored() - referenced() if path(h).stat().st_mtime < cutoff}


def sweep_orphans(grace: float = GRACE_SECONDS) -> list[str]:
    """Delete the files a killed process left unnamed; return their hashes."""
    gone = sorted(orphans(grace))
    for sha256 in gone:
        path(sha256).unlink(missing_ok=True)
    return gone


def problems(grace: float = GRACE_SECONDS) -> list[str]:
    """Return what ``qms check`` reports of the store: missing, altered and orphaned files."""
    named, kept = referenced(), stored()
    out = [f"attachment {h} is named by the database but missing" for h in sorted(named - kept)]
    out += [
        f"attachment {h} does not match its hash" for h in sorted(named & kept) if not verify(h)
    ]
    out += [f"attachment {h} is stored but nothing names it" for h in sorted(orphans(grace))]
    return out

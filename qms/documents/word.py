"""Word round trip: a draft downloaded as DOCX, revised in Word, and brought back.

The uploaded file is converted by pandoc (its pictures kept beside the document) into
the draft's next text under the draft's own front matter, checked by the same rules as
any save, and shown as a redline against the previous save before the author keeps it.
Between the two steps the file waits in the instance folder, never in the session.
"""

from __future__ import annotations

import secrets
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from qms import render
from qms.auth.models import User
from qms.documents.drafting import compose_content, save_draft, validate_content
from qms.documents.models import Document, Revision
from qms.documents.permissions import AUTHORING_ROLES, can_author, needs_role
from qms.documents.reading import document_media, revision_content
from qms.documents.redline import Redline, redline
from qms.errors import NotFound, ValidationFailed

#: How long an uploaded file waits for the author to keep it.
STASH_SECONDS = 24 * 3600
TOKEN_LENGTH = 32


@dataclass(frozen=True)
class WordRevision:
    """What an uploaded Word file would make of the draft."""

    content: str
    images: dict[str, bytes]
    redline: Redline


def draft_docx(rev: Revision) -> bytes:
    """The draft's text and pictures as a DOCX to revise in Word."""
    _meta, body = render.split_front_matter(revision_content(rev))
    return render.to_editable_docx(body, document_media(rev))


def read_word(actor: User, doc: Document, rev: Revision, data: bytes, filename: str):
    """Convert an uploaded file into the draft's next text; refuse what a save would."""
    if not can_author(actor, doc):
        raise needs_role(*AUTHORING_ROLES)
    if not filename.lower().endswith((".docx", ".odt")):
        raise ValidationFailed(
            _("Upload the Word file (.docx) or an OpenDocument text (.odt)."), field="file"
        )
    try:
        converted = render.convert_to_markdown(
            data, filename, f"{doc.code}/media", pipe_tables=True
        )
    except (render.RenderError, zipfile.BadZipFile) as exc:
        raise ValidationFailed(
            _(
                "%(file)s could not be read as a Word document: %(error)s",
                file=filename,
                error=str(exc),
            ),
            field="file",
        ) from exc
    before = revision_content(rev)
    meta, _body = render.split_front_matter(before)
    content = compose_content(meta, converted.body)
    validate_content(doc, content)
    return WordRevision(content, converted.images, redline(before, content))


def keep_word(
    actor: User, doc: Document, rev: Revision, token: str, summary: str, base_commit: str | None
) -> Revision:
    """Save the stashed upload as the draft's next commit (the same checks again)."""
    data, filename = unstash(token)
    found = read_word(actor, doc, rev, data, filename)
    saved = save_draft(
        actor,
        doc,
        found.content,
        summary,
        base_commit=base_commit,
        images=found.images,
        trailers=[("Source", f"Word file {filename}")],
    )
    _path(token).unlink(missing_ok=True)
    return saved


# -- the file between upload and keep ------------------------------------------------------


def _folder() -> Path:
    folder = Path(current_app.config["QMS_INSTANCE"]) / "word-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(token: str) -> Path:
    if len(token) != TOKEN_LENGTH or not token.isalnum():
        raise NotFound(_("That upload is no longer waiting; upload the file again."))
    return _folder() / f"{token}.bin"


def stash(data: bytes, filename: str) -> str:
    """Keep an upload until the author keeps it or a day passes; return its token."""
    now = time.time()
    for old in _folder().glob("*.bin"):
        if now - old.stat().st_mtime > STASH_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(TOKEN_LENGTH // 2)
    name = Path(filename).name.encode("utf-8")[:200]
    _path(token).write_bytes(len(name).to_bytes(2, "big") + name + data)
    return token


def unstash(token: str) -> tuple[bytes, str]:
    path = _path(token)
    if not path.exists():
        raise NotFound(_("That upload is no longer waiting; upload the file again."))
    raw = path.read_bytes()
    size = int.from_bytes(raw[:2], "big")
    return raw[2 + size :], raw[2 : 2 + size].decode("utf-8", "replace")

"""The audit trail anchored in git: signed commits on ``refs/qms/trail``.

The trail's hash chain (:mod:`qms.trail`) proves that no event was edited or removed
only as long as nobody recomputes it. Each anchor is a commit, signed with the
installation's key, that holds the sequence number and hash of the trail's newest
event at that moment; the anchors form their own chain of commits. Recomputing the
chain after an edit, or deleting the newest events and rewinding the head, then no
longer matches an anchor already written, and the anchors travel with every mirror
and ``git clone --mirror``.

An anchor is written by every release and obsoletion, in the same unit of work, and
by the job runner's periodic ``trail_anchor`` job.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from qms.extensions import db
from qms.gitstore import SYSTEM, TRAIL_REF, Person, format_message
from qms.uow import before_publish, store, transactional

ANCHOR_FILE = "trail-head"


@dataclass(frozen=True)
class Anchor:
    commit: str
    seq: int
    hash: str
    at: str


def request() -> None:
    """Anchor the trail at the end of the current unit of work, covering all it recorded."""
    before_publish(_anchor_now)


@transactional
def anchor() -> str | None:
    """Write an anchor of the trail's head unless the newest anchor already names it."""
    return _anchor_now()


def _anchor_now() -> str | None:
    db.session.flush()
    row = db.session.execute(text("SELECT seq, last_hash FROM trail_head WHERE id = 1")).first()
    if row is None or not row[0]:
        return None
    seq, head = int(row[0]), row[1]
    gitstore = store()
    previous = gitstore.head(TRAIL_REF)
    if previous is not None:
        info = gitstore.commit_info(previous)
        if info.trailer("Trail-Seq") == str(seq) and info.trailer("Trail-Hash") == head:
            return None
    content = f"{seq} {head}\n".encode()
    message = format_message(
        f"Anchor the audit trail at event {seq}",
        trailers=[("Trail-Seq", str(seq)), ("Trail-Hash", head)],
    )
    return gitstore.commit_on(
        TRAIL_REF,
        {ANCHOR_FILE: gitstore.write_blob(content)},
        message,
        Person(*SYSTEM),
        previous,
        sign=True,
        whole_tree=True,  # an anchor's tree is its one file
    )


def anchors() -> list[Anchor]:
    """Return every anchor, oldest first."""
    gitstore = store()
    if gitstore.head(TRAIL_REF) is None:
        return []
    found = []
    for info in gitstore.log(TRAIL_REF):
        try:
            seq = int(info.trailer("Trail-Seq") or "")
        except ValueError:
            seq = -1
        found.append(
            Anchor(info.sha, seq, info.trailer("Trail-Hash") or "", info.authored_at.isoformat())
        )
    return list(reversed(found))

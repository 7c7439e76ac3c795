"""Write the bulk documents' history into the document repository in one ``git fast-import``.

Each document gets its revisions as the application would have made them: a draft commit
(a child of main, as a draft is, though its tree holds only the document's own file), a
release commit on main that merges it and carries the release trailers, and an annotated
tag ``<code>/<revision>`` on that release. The
releases are interleaved by effective date across documents, as a real register grows, so
main's first-parent history is one release per commit.

The blob ids are computed here (git's ``sha1("blob <size>\\0" + content)``) so the tag
and commit messages can name them; the commit ids come back from fast-import's marks.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

DRAFT_REF = "refs/heads/bench-drafts"


@dataclass
class Release:
    """One revision of one document, as written to git."""

    code: str
    label: str
    path: str
    content: bytes
    effective: date
    subject: str
    message: str
    tag_message: str
    author: tuple[str, str]
    releaser: tuple[str, str]
    blob: str = ""
    draft_mark: int = 0
    release_mark: int = 0
    draft_commit: str = ""
    release_commit: str = ""
    extra: dict = field(default_factory=dict)


def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _data(out, text: bytes) -> None:
    out.write(b"data %d\n" % len(text))
    out.write(text)
    out.write(b"\n")


def write(repo: Path, releases: list[Release], main_head: str) -> dict[str, float]:
    """Import ``releases`` (in the order given for their blobs) on top of ``main_head``.

    Sets each release's blob, draft and release commit ids. Returns fast-import's time.
    """
    import time as clock

    with tempfile.TemporaryDirectory() as tmp:
        stream_path = Path(tmp) / "stream"
        marks_path = Path(tmp) / "marks"
        mark = 0
        blob_marks: dict[int, int] = {}
        with open(stream_path, "wb") as out:
            # Blobs first, each document's revisions one after the other: fast-import then
            # stores each as a delta of the revision before it.
            for n, rel in enumerate(releases):
                mark += 1
                rel.blob = blob_id(rel.content)
                blob_marks[n] = mark
                out.write(b"blob\nmark :%d\n" % mark)
                _data(out, rel.content)
            order = sorted(range(len(releases)), key=lambda n: (releases[n].effective, n))
            previous = main_head
            previous_is_mark = False
            for seq, n in enumerate(order):
                rel = releases[n]
                stamp = int(datetime.combine(rel.effective, time(9), UTC).timestamp() + seq % 28000)
                parent = f":{previous}" if previous_is_mark else previous
                mark += 1
                rel.draft_mark = mark
                name, email = rel.author
                out.write(f"commit {DRAFT_REF}\nmark :{mark}\n".encode())
                out.write(f"author {name} <{email}> {stamp - 3600} +0000\n".encode())
                out.write(f"committer QMS tracker <qms@localhost> {stamp - 3600} +0000\n".encode())
                _data(out, f"Revision {rel.label} of {rel.code}\n".encode())
                # The draft's tree holds its document's file only: rewriting main's folder
                # of 3,400 work specifications twice per release doubled the import time.
                out.write(f"from {parent}\ndeleteall\n".encode())
                out.write(b"M 100644 :%d %s\n\n" % (blob_marks[n], rel.path.encode()))
                mark += 1
                rel.release_mark = mark
                name, email = rel.releaser
                out.write(f"commit refs/heads/main\nmark :{mark}\n".encode())
                out.write(f"author {name} <{email}> {stamp} +0000\n".encode())
                out.write(f"committer QMS tracker <qms@localhost> {stamp} +0000\n".encode())
                _data(out, rel.message.encode())
                out.write(f"from {parent}\nmerge :{rel.draft_mark}\n".encode())
                out.write(b"M 100644 :%d %s\n\n" % (blob_marks[n], rel.path.encode()))
                out.write(f"tag {rel.code}/{rel.label}\nfrom :{mark}\n".encode())
                out.write(f"tagger {name} <{email}> {stamp} +0000\n".encode())
                _data(out, rel.tag_message.encode())
                previous, previous_is_mark = mark, True
        start = clock.perf_counter()
        with open(stream_path, "rb") as stream:
            subprocess.run(
                [
                    "git",
                    "fast-import",
                    "--quiet",
                    "--force",
                    f"--export-marks={marks_path}",
                ],
                cwd=repo,
                stdin=stream,
                check=True,
            )
        took = clock.perf_counter() - start
        marks = dict(line.split(" ", 1) for line in marks_path.read_text().splitlines())
    for rel in releases:
        rel.draft_commit = marks[f":{rel.draft_mark}"].strip()
        rel.release_commit = marks[f":{rel.release_mark}"].strip()
    subprocess.run(["git", "update-ref", "-d", DRAFT_REF], cwd=repo, check=True)
    # As a repository that has lived a while: refs packed (fast-import leaves them loose).
    subprocess.run(["git", "pack-refs", "--all"], cwd=repo, check=True)
    return {"fast-import": took}

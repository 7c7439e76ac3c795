"""The system as it stood on any date, and what changed between two dates, from main's history.

Main is the effective QMS and each first-parent commit on it is one release, obsoletion or
import, so replaying main's history up to a day tells which documents were in force that
day, at which revision, with which text, without asking the database. A commit counts from
its ``Effective-Date`` trailer (a release effective on a past date, when history is loaded,
is committed later than it took effect), otherwise from its commit time in the office's
time zone (:mod:`qms.clock`), so a day means the end of that day where the office is.

Main's history is read with one ``git log`` and kept per main commit: it only grows, so a
page asks git again only after a release. Front matter is kept per blob, which never changes.
"""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from qms import clock, render
from qms.clauses import in_order
from qms.documents.models import TYPE_FOLDERS, Document
from qms.errors import BadRequest
from qms.extensions import db
from qms.gitstore import MAIN
from qms.uow import store

FOLDER_TYPES = {folder: doc_type for doc_type, folder in TYPE_FOLDERS.items()}

_lock = threading.Lock()
#: Main's parsed history by (repository, main commit); one or two entries are plenty.
_histories: OrderedDict[tuple[str, str], list[MainCommit]] = OrderedDict()
#: Front matter by blob id: a blob's content never changes.
_meta: OrderedDict[str, dict] = OrderedDict()
_META_MAX = 20000


@dataclass(frozen=True)
class MainCommit:
    """One first-parent commit on main and the document files it put or removed."""

    sha: str
    subject: str
    effective: date
    committed_at: datetime
    trailers: dict[str, list[str]]
    documents: dict[str, tuple[str, str | None]]  # code -> (path, blob or None)

    def trailer(self, key: str) -> str | None:
        values = self.trailers.get(key)
        return values[-1] if values else None


@dataclass
class InForce:
    """A document as it was in force on a day: its revision, text and where it came from."""

    code: str
    doc_type: str
    path: str
    blob: str
    revision: str | None
    effective_date: date
    commit: str
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.code)

    @property
    def parent(self) -> str | None:
        value = self.meta.get("parent")
        return str(value) if value else None

    @property
    def department(self) -> str | None:
        value = self.meta.get("department")
        return str(value) if value else None

    @property
    def clauses(self) -> list[str]:
        value = self.meta.get("clauses") or []
        return in_order(str(c) for c in value) if isinstance(value, list) else [str(value)]

    @property
    def label(self) -> str | None:
        return self.revision

    def text(self) -> str:
        """Return the Markdown file exactly as it was in force."""
        return store().read_blob(self.blob).decode("utf-8")


@dataclass
class State:
    """The whole system as in force at the end of ``day``."""

    day: date
    commit: str | None  # the last commit on main counted for the day
    documents: dict[str, InForce]  # by code

    def sorted(self) -> list[InForce]:
        return [self.documents[c] for c in sorted(self.documents)]


# -- dates -----------------------------------------------------------------------------


def parse_day(value: str | None, name: str = "as_of") -> date | None:
    """Return the day ``YYYY-MM-DD`` names (None when empty); raise :class:`BadRequest`."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad(value, name)
    except ValueError:
        return _bad(value, name)


def _bad(value: str, name: str):
    raise BadRequest(
        _("%(value)s is not a date: give it as YYYY-MM-DD.", value=value[:40]), field=name
    )


def clamp(day: date) -> tuple[date, bool]:
    """Return ``day``, or today when it lies in the future, and whether it was moved."""
    today = clock.today()
    return (today, True) if day > today else (day, False)


# -- main's history ----------------------------------------------------------------------


def _effective(trailers: dict[str, list[str]], committed: datetime) -> date:
    values = trailers.get("Effective-Date")
    if values:
        try:
            return date.fromisoformat(values[-1].strip())
        except ValueError:
            pass  # a hand-made commit: fall back on when it was made
    return committed.astimezone(clock.zone()).date()


def _document_of(path: str) -> str | None:
    """Return the code of a document file (``procedures/QP-07.md``), None for other files."""
    folder, sep, name = path.partition("/")
    if not sep or "/" in name or folder not in FOLDER_TYPES or not name.endswith(".md"):
        return None
    return name[:-3] or None


def main_history() -> list[MainCommit]:
    """Return main's first-parent commits, oldest first, with the documents each changed.

    After a release only the commits since the history last read are asked of git.
    """
    gitstore = store()
    head = gitstore.ref_value(MAIN)
    repo = str(gitstore.path)
    with _lock:
        if (repo, head or "") in _histories:
            _histories.move_to_end((repo, head or ""))
            return _histories[(repo, head or "")]
        known = [(h, c) for (r, h), c in reversed(_histories.items()) if r == repo and c]
    commits: list[MainCommit] = []
    if head:
        base = known[0] if known else None
        newer = _read(gitstore, f"{base[0]}..{MAIN}") if base else None
        if base and newer and newer[0][0].parents[:1] == (base[0],):
            commits = base[1] + [_main_commit(*row) for row in newer]
        else:  # first read, or main was moved some other way than by adding commits
            commits = [_main_commit(*row) for row in _read(gitstore, MAIN)]
    with _lock:
        _histories[(repo, head or "")] = commits
        while len(_histories) > 4:
            _histories.popitem(last=False)
    return commits


def _read(gitstore, revisions: str) -> list:
    return gitstore.first_parent_changes(revisions)


def _main_commit(info, committed: datetime, changes: dict[str, str | None]) -> MainCommit:
    docs = {}
    for path, blob in changes.items():
        code = _document_of(path)
        if code:
            docs[code] = (path, blob)
    return MainCommit(
        sha=info.sha,
        subject=info.subject,
        effective=_effective(info.trailers, committed),
        committed_at=committed,
        trailers=info.trailers,
        documents=docs,
    )


def _tag_index() -> dict[tuple[str, str], str]:
    """Return the revision label of each (commit, code) a release tag names."""
    index = {}
    for ref, commit in store().refs("refs/tags/").items():
        code, sep, label = ref.removeprefix("refs/tags/").rpartition("/")
        if sep:
            index[(commit, code)] = label
    return index


def _revision_label(commit: MainCommit, code: str, tags: dict) -> str | None:
    label = tags.get((commit.sha, code))
    if label:
        return label
    if commit.trailer("Document") == code and len(commit.trailers.get("Document", [])) == 1:
        return commit.trailer("Revision")
    return None


def front_matter(blob: str) -> dict:
    """Return the front matter of a stored document file, read once per blob."""
    with _lock:
        if blob in _meta:
            return _meta[blob]
    try:
        meta = render.split_front_matter(store().read_blob(blob).decode("utf-8"))[0]
    except (render.FrontMatterError, UnicodeDecodeError, ValueError):
        meta = {}
    with _lock:
        _meta[blob] = meta
        while len(_meta) > _META_MAX:
            _meta.popitem(last=False)
    return meta


def state_as_of(day: date, with_meta: bool = True) -> State:
    """Return every document in force at the end of ``day``, from main's history."""
    files: dict[str, tuple[str, str, MainCommit]] = {}
    last = None
    for commit in main_history():
        if commit.effective > day:
            continue
        last = commit.sha
        for code, (path, blob) in commit.documents.items():
            if blob is None:
                files.pop(code, None)
            else:
                files[code] = (path, blob, commit)
    tags = _tag_index()
    documents = {}
    for code, (path, blob, commit) in files.items():
        documents[code] = InForce(
            code=code,
            doc_type=FOLDER_TYPES[path.partition("/")[0]],
            path=path,
            blob=blob,
            revision=_revision_label(commit, code, tags),
            effective_date=commit.effective,
            commit=commit.sha,
            meta=front_matter(blob) if with_meta else {},
        )
    return State(day, last, documents)


def document_as_of(code: str, day: date) -> InForce | None:
    """Return the document ``code`` as in force at the end of ``day``, or None."""
    item = state_as_of(day, with_meta=False).documents.get(code)
    return _with_meta(item) if item is not None else None


def _with_meta(item: InForce) -> InForce:
    item.meta = front_matter(item.blob)
    return item


def releases_of(code: str, day: date | None = None) -> list[InForce]:
    """Return each revision of ``code`` put on main up to ``day``, oldest first."""
    tags = _tag_index()
    out = []
    for commit in main_history():
        if day is not None and commit.effective > day:
            continue
        path, blob = commit.documents.get(code, (None, None))
        if blob:
            out.append(
                InForce(
                    code=code,
                    doc_type=FOLDER_TYPES[path.partition("/")[0]],
                    path=path,
                    blob=blob,
                    revision=_revision_label(commit, code, tags),
                    effective_date=commit.effective,
                    commit=commit.sha,
                )
            )
    return out


def hierarchy(state: State) -> list[tuple[InForce, int]]:
    """Return the documents in force with their depth, in hierarchy order.

    The parent comes from each document's front matter as it was; a document whose file
    names none keeps the parent the register gives it.
    """
    parent_doc = aliased(Document)
    registered = dict(
        db.session.execute(
            select(Document.code, parent_doc.code).join(
                parent_doc, Document.parent_id == parent_doc.id
            )
        ).all()
    )
    children: dict[str | None, list[InForce]] = {}
    for item in state.sorted():
        parent = item.parent or registered.get(item.code)
        if parent not in state.documents or parent == item.code:
            parent = None
        children.setdefault(parent, []).append(item)
    out: list[tuple[InForce, int]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for item in children.get(parent, []):
            if item.code in seen:
                continue  # a loop in hand-edited front matter must not recurse forever
            seen.add(item.code)
            out.append((item, depth))
            walk(item.code, depth + 1)

    walk(None, 0)
    for item in state.sorted():  # what a parent loop left unreached
        if item.code not in seen:
            out.append((item, 0))
    return out


# -- what changed ------------------------------------------------------------------------


@dataclass
class Change:
    """One document's change between two days: new, revised or obsoleted."""

    kind: str  # "new", "revised" or "obsoleted"
    code: str
    doc_type: str
    title: str
    before: InForce | None
    after: InForce | None
    #: For record forms: field keys added, removed and changed.
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)
    fields_changed: list[str] = field(default_factory=list)

    @property
    def fields_differ(self) -> bool:
        return bool(self.fields_added or self.fields_removed or self.fields_changed)


@dataclass
class Changes:
    start: date
    end: date
    new: list[Change]
    revised: list[Change]
    obsoleted: list[Change]

    @property
    def forms_changed(self) -> list[Change]:
        """The record forms whose fields differ (new and withdrawn forms included)."""
        return [
            c
            for c in self.new + self.revised + self.obsoleted
            if c.doc_type == "record_form" and c.fields_differ
        ]

    @property
    def total(self) -> int:
        return len(self.new) + len(self.revised) + len(self.obsoleted)


def _fields(meta: dict) -> dict[str, object]:
    value = meta.get("fields") or []
    if not isinstance(value, list):
        return {}
    return {str(f.get("key")): f for f in value if isinstance(f, dict) and f.get("key")}


def changes_between(start: date, end: date) -> Changes:
    """Return what changed from the start of ``start`` to the end of ``end``.

    Raises :class:`BadRequest` when ``start`` comes after ``end``.
    """
    if start > end:
        raise BadRequest(_("The start date must not be after the end date."), field="from")
    before = (
        state_as_of(start - timedelta(days=1), with_meta=False).documents
        if start > date.min
        else {}
    )
    after = state_as_of(end, with_meta=False).documents
    new, revised, obsoleted = [], [], []
    for code in sorted(set(before) | set(after)):
        old, cur = before.get(code), after.get(code)
        if old and cur and old.blob == cur.blob:
            continue
        for item in (old, cur):
            if item is not None:
                _with_meta(item)
        kind = "new" if old is None else "obsoleted" if cur is None else "revised"
        shown = cur or old
        change = Change(kind, code, shown.doc_type, shown.title, old, cur)
        if shown.doc_type == "record_form":
            a = _fields(old.meta) if old else {}
            b = _fields(cur.meta) if cur else {}
            change.fields_added = [k for k in b if k not in a]
            change.fields_removed = [k for k in a if k not in b]
            change.fields_changed = [k for k in b if k in a and a[k] != b[k]]
        {"new": new, "revised": revised, "obsoleted": obsoleted}[kind].append(change)
    return Changes(start, end, new, revised, obsoleted)


def _preset(name: str) -> tuple[date | None, str | None]:
    """Return the start day a preset names, and what it is, or (None, None)."""
    if name == "review":
        from qms.reviews.models import Review

        review = db.session.scalars(
            select(Review)
            .where(Review.held_on.is_not(None), Review.held_on <= clock.today())
            .order_by(Review.held_on.desc())
            .limit(1)
        ).first()
        if review is not None:
            return review.held_on + timedelta(days=1), _(
                "since management review %(number)s", number=review.number
            )
    if name == "audit":
        from qms.audits.models import Audit

        audit = db.session.scalars(
            select(Audit)
            .where(Audit.state.in_(("reported", "closed")))
            .order_by(Audit.planned_end.desc())
            .limit(1)
        ).first()
        if audit is not None:
            return audit.planned_end + timedelta(days=1), _("since audit %(ref)s", ref=audit.ref)
    return None, None


def changes_range(args: Mapping[str, str]) -> tuple[date, date, str | None, list[str]]:
    """Return the days ``from``, ``to`` or ``since`` (review, audit) ask for, a label, notes.

    Raises :class:`BadRequest` when a date is not one.
    """
    notes = []
    since = args.get("since") or ""
    if since not in ("", "review", "audit"):
        raise BadRequest(_("Since can be review or audit."), field="since")
    start, label = _preset(since) if since else (None, None)
    if since and start is None:
        notes.append(
            _("There is no management review held yet.")
            if since == "review"
            else _("There is no audit carried out yet.")
        )
    start = parse_day(args.get("from"), "from") or start
    end = parse_day(args.get("to"), "to") or clock.today()
    end, moved = clamp(end)
    if moved:
        notes.append(_("A date in the future shows the system as it stands today."))
    if start is None:
        start = date(end.year, 1, 1)
    elif not args.get("from") and start > end:
        start = end  # the review or audit was today: nothing since, but no error
    return start, end, label, notes


# -- a controlled copy -------------------------------------------------------------------

EXPORT_COLUMNS = ["code", "title", "type", "parent", "revision", "effective_date", "path", "blob"]


def register_rows(state: State) -> list[list]:
    """Return the register as in force (see :data:`EXPORT_COLUMNS`), as data."""
    return [
        [
            d.code,
            d.title,
            d.doc_type,
            d.parent or "",
            d.revision or "",
            d.effective_date,
            d.path,
            d.blob,
        ]
        for d in state.sorted()
    ]


def copy_heading(state: State) -> str:
    """Return the line that says what a controlled copy of ``state`` is."""
    return _(
        "Controlled copy of the quality management system as in force on %(day)s.",
        day=state.day.isoformat(),
    )


def register_csv(state: State) -> str:
    """Return the register as in force, as CSV headed by what it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([copy_heading(state)])
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(register_rows(state))
    return "\ufeff" + out.getvalue()


def export_zip(state: State) -> bytes:
    """Return a ZIP controlled copy: the register and every document file as in force."""
    buf = io.BytesIO()
    made = _(
        "Made on %(when)s from commit %(commit)s of main.",
        when=clock.now().strftime("%Y-%m-%d %H:%M %Z"),
        commit=state.commit or "—",
    )
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", f"{copy_heading(state)}\n{made}\n")
        z.writestr("register.csv", register_csv(state))
        for item in state.sorted():
            z.writestr(item.path, store().read_blob(item.blob))
    return buf.getvalue()

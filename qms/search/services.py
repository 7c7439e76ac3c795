"""Writing to and searching the index.

Matching is a case-insensitive substring match of every query term over the normalised
text (``LIKE '%term%'``): the same on SQLite and PostgreSQL, and it finds one or two
Chinese characters anywhere, which word-token full-text indexes do not. Hits whose title
holds every term come first, then those with the most occurrences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from werkzeug.routing import BuildError

from qms.errors import ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.search.models import SEARCH_TYPES, SearchEntry
from qms.search.text import normalise, snippet, terms
from qms.uow import transactional

MAX_QUERY = 200


@dataclass
class Entry:
    """One item for the index, as a provider yields it."""

    type: str
    key: str
    title: str
    text: str
    version: str = ""
    current: bool = True
    endpoint: str | None = None
    params: dict | None = None
    updated_at: datetime | None = None

    def row(self) -> dict:
        title = " ".join((self.title or "").split())[:300]
        text = " ".join((self.text or "").split())
        return {
            "type": self.type,
            "key": self.key[:60],
            "version": self.version or "",
            "title": title,
            "text": text,
            # The key too, so that a record, NC or action is found by its whole number.
            "norm": normalise(f"{self.key} {title} {text}"),
            "norm_title": normalise(title),
            "current": self.current,
            "endpoint": self.endpoint,
            "params": self.params,
            "updated_at": self.updated_at or utcnow(),
        }


# type -> callable returning every item of that type, for a full reindex.
PROVIDERS: dict[str, Callable[[], Iterable[Entry]]] = {}


def register_provider(type: str, iter_all: Callable[[], Iterable[Entry]]) -> None:
    """Let ``flask qms reindex`` rebuild the entries of ``type`` from ``iter_all()``."""
    PROVIDERS[type] = iter_all


# type -> callable(user) returning a select() of the keys of that type the user may see,
# or None when the user sees them all (see qms.auth.visibility).
SCOPES: dict[str, Callable[[object], object]] = {}


def register_scope(type: str, visible_keys: Callable[[object], object]) -> None:
    """Let search show a user only the entries of ``type`` whose key ``visible_keys`` gives."""
    SCOPES[type] = visible_keys


def _scoped(viewer) -> list:
    """Return the conditions that hide the entries ``viewer`` may not see."""
    where = []
    for type, visible_keys in SCOPES.items():
        keys = visible_keys(viewer)
        if keys is not None:
            where.append(or_(SearchEntry.type != type, SearchEntry.key.in_(keys)))
    return where


def index(
    type: str,
    key: str,
    title: str,
    text: str,
    version: str = "",
    current: bool = True,
    endpoint: str | None = None,
    params: dict | None = None,
    updated_at: datetime | None = None,
) -> None:
    """Add or replace one item in the index, inside the caller's transaction.

    The index lives in the same database, so it changes with the caller's work: a change
    that is refused or rolled back leaves no entry behind.

    At most one version of a key is current: indexing a current version makes the
    others of the same key historical (found only when asking for all revisions).
    """
    row = Entry(type, key, title, text, version, current, endpoint, params, updated_at).row()
    existing = db.session.scalar(
        select(SearchEntry).where(
            SearchEntry.type == type,
            SearchEntry.key == row["key"],
            SearchEntry.version == row["version"],
        )
    )
    if existing is None:
        db.session.add(SearchEntry(**row))
    else:
        for name, value in row.items():
            setattr(existing, name, value)
    if current and row["version"]:
        db.session.execute(
            update(SearchEntry)
            .where(
                SearchEntry.type == type,
                SearchEntry.key == row["key"],
                SearchEntry.version != row["version"],
            )
            .values(current=False)
        )


def remove(type: str, key: str, version: str | None = None) -> None:
    """Take an item (one version, or all of them) out of the index, in the caller's transaction."""
    stmt = delete(SearchEntry).where(SearchEntry.type == type, SearchEntry.key == key)
    if version is not None:
        stmt = stmt.where(SearchEntry.version == version)
    db.session.execute(stmt)


@transactional
def reindex(types: Iterable[str] | None = None, batch: int = 500) -> dict[str, int]:
    """Rebuild the entries of each registered type from its provider, in one unit of work.

    Returns how many entries each type now has; a failure leaves the old index as it was.
    """
    counts = {}
    for type in list(types or PROVIDERS):
        provider = PROVIDERS.get(type)
        if provider is None:
            continue
        db.session.execute(delete(SearchEntry).where(SearchEntry.type == type))
        rows, seen, total = [], set(), 0
        for entry in provider():
            row = entry.row()
            ident = (row["key"], row["version"])
            if ident in seen:
                continue
            seen.add(ident)
            rows.append(row)
            if len(rows) >= batch:
                db.session.execute(insert(SearchEntry), rows)
                total += len(rows)
                rows = []
        if rows:
            db.session.execute(insert(SearchEntry), rows)
            total += len(rows)
        counts[type] = total
    return counts


# -- searching -------------------------------------------------------------------------


@dataclass
class Hit:
    type: str
    key: str
    version: str
    title: str
    snippet: Markup
    current: bool
    url: str | None


@dataclass
class Results:
    """One page of hits, shaped like a Flask-SQLAlchemy page for the pagination macro."""

    items: list[Hit]
    page: int
    per_page: int
    total: int
    terms: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge=2, left_current=2, right_current=5, right_edge=2):
        last = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current <= num < self.page + right_current
                or num > self.pages - right_edge
            ):
                if last + 1 != num:
                    yield None
                yield num
                last = num


def _contains(column, term: str):
    """Return "column contains term": LIKE '%term%' with the wildcards escaped.

    The text and the term are folded already, so SQLite's ASCII case folding and
    PostgreSQL's case-sensitive LIKE give the same answer (and pg_trgm can serve it).
    """
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def _url(entry: SearchEntry) -> str | None:
    if not entry.endpoint:
        return None
    try:
        return url_for(entry.endpoint, **(entry.params or {}))
    except BuildError:
        return None  # that domain's pages are not installed here


def validate_types(types: Iterable[str] | None) -> list[str]:
    chosen = [t for t in (types or []) if t]
    unknown = [t for t in chosen if t not in SEARCH_TYPES]
    if unknown:
        raise ValidationFailed(
            _(
                "Unknown type %(type)s; use one of: %(types)s.",
                type=unknown[0],
                types=", ".join(SEARCH_TYPES),
            ),
            field="type",
        )
    return chosen


def search(
    q: str,
    types: Iterable[str] | None = None,
    all_revisions: bool = False,
    page: int = 1,
    per_page: int = 20,
    viewer=None,
) -> Results:
    """Return one page of the items containing every term of ``q``, best first.

    Given a ``viewer``, only what they may see is found (and counted).
    """
    if len(q or "") > MAX_QUERY:
        raise ValidationFailed(_("Search for at most %(n)d characters.", n=MAX_QUERY), field="q")
    chosen = validate_types(types)
    query_terms = terms(q or "")
    page, per_page = max(1, int(page)), max(1, min(int(per_page), 100))
    if not query_terms:
        return Results([], page, per_page, 0, [])
    where = [_contains(SearchEntry.norm, t) for t in query_terms]
    if chosen:
        where.append(SearchEntry.type.in_(chosen))
    if not all_revisions:
        where.append(SearchEntry.current.is_(True))
    if viewer is not None:
        where.extend(_scoped(viewer))
    in_title = and_(*(_contains(SearchEntry.norm_title, t) for t in query_terms))
    # Occurrences of a term = the length its removal takes off, over the term's length.
    occurrences = sum(
        (func.length(SearchEntry.norm) - func.length(func.replace(SearchEntry.norm, t, "")))
        / len(t)
        for t in query_terms
    )
    # One pass over the text gives the total and the ranking; only the page's rows are
    # then loaded whole.
    ranked = db.session.execute(
        select(SearchEntry.id, case((in_title, 0), else_=1), occurrences).where(*where)
    ).all()
    total = len(ranked)
    ranked.sort(key=lambda row: (row[1], -row[2], row[0]))
    ids = [row[0] for row in ranked[(page - 1) * per_page : page * per_page]]
    by_id = {
        e.id: e for e in db.session.scalars(select(SearchEntry).where(SearchEntry.id.in_(ids)))
    }
    hits = []
    for entry in (by_id[i] for i in ids):
        hits.append(
            Hit(
                type=entry.type,
                key=entry.key,
                version=entry.version,
                title=entry.title,
                snippet=snippet(entry.text, query_terms),
                current=entry.current,
                url=_url(entry),
            )
        )
    return Results(hits, page, per_page, total, query_terms)


def type_label(type: str) -> str:
    return {
        "document": _("Document"),
        "record": _("Record"),
        "nonconformity": _("Nonconformity"),
        "action": _("Action"),
        "context": _("Context"),
        "risk": _("Risk or opportunity"),
        "supplier": _("Provider"),
        "equipment": _("Equipment"),
    }.get(type, type)

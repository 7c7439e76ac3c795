"""The unit of work: one transaction over the database and the document repository's refs.

Service functions never commit. The outermost call decorated with :func:`transactional`
(or a ``with unit_of_work():`` block) owns the transaction and nested calls join it.
While it runs, git objects are written at once but every ref move is only queued on
the repository (:attr:`GitStore.pending`). At the end:

1. the database is flushed, so a refused row fails before any ref moves;
2. each queued ref's row in ``git_ref`` (what the database has acknowledged) is locked
   and compared with what the work read: a difference means someone else published
   first, and the whole unit runs again on their result;
3. every queued move is published in one ``update-ref --stdin`` transaction, with
   compare-and-swap against what git holds now;
4. the database commits; if that fails the refs are put back.

Because a ref's row is locked from step 2 until the commit, a ref that differs from its
row while we hold the lock was published by a process that died before its commit: the
client never heard of it, so the move is dropped (:func:`recover`), never adopted.
Side effects that must follow the commit (mail, the mirror queue, jobs) are registered
with :func:`after_commit`.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from qms.extensions import db
from qms.gitstore import MAIN, GitStore, GitStoreError, RefConflict
from qms.models import GitRef

#: How often a unit of work is run again when another process published a ref first.
ATTEMPTS = 30
#: The value of a ``git_ref`` row claimed for a ref this unit of work creates.
CLAIMED = ""


@dataclass
class UnitOfWork:
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    after_rollback: list[Callable[[], None]] = field(default_factory=list)
    before_publish: list[Callable[[], None]] = field(default_factory=list)


def current() -> UnitOfWork | None:
    """Return the unit of work in progress in this app context, if any."""
    return g.get("_qms_uow")


def store() -> GitStore:
    """Return the document repository for this app context, opened once.

    Inside a unit of work its ref moves are queued for the unit to publish.
    """
    if "gitstore" not in g:
        from qms import signing

        g.gitstore = GitStore(current_app.config["QMS_DOCUMENTS_REPO"])
        signing.configure(g.gitstore)
    gitstore = g.gitstore
    if current() is not None and gitstore.pending is None:
        gitstore.pending = {}
    return gitstore


def close_store(_exc=None) -> None:
    gitstore = g.pop("gitstore", None)
    if gitstore is not None:
        gitstore.close()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current unit of work has committed (never if it fails)."""
    uow = current()
    if uow is None:
        raise RuntimeError("after_commit() needs a unit of work")
    uow.after_commit.append(callback)


def before_publish(callback: Callable[[], None]) -> None:
    """Run ``callback`` once at the end of the current unit of work, before its refs publish.

    For work that must see everything the unit did and join it (the trail's anchor).
    """
    uow = current()
    if uow is None:
        raise RuntimeError("before_publish() needs a unit of work")
    if callback not in uow.before_publish:
        uow.before_publish.append(callback)


def after_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` if the current unit of work is rolled back (to undo files, say)."""
    uow = current()
    if uow is None:
        raise RuntimeError("after_rollback() needs a unit of work")
    uow.after_rollback.append(callback)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Own the transaction, or join the one in progress.

    Raises :class:`RefConflict` when another process published a ref this work moves;
    :func:`transactional` then runs the work again.
    """
    uow = current()
    if uow is not None:
        yield uow
        return
    uow = UnitOfWork()
    g._qms_uow = uow
    gitstore = g.get("gitstore")
    if gitstore is not None:
        gitstore.pending = {}
    try:
        try:
            yield uow
            for callback in uow.before_publish:
                callback()
            db.session.flush()
            published = _publish()
            try:
                db.session.commit()
            except BaseException:
                _unpublish(published)
                raise
        except BaseException:
            db.session.rollback()
            for callback in reversed(uow.after_rollback):
                _quietly(callback)
            raise
    finally:
        g.pop("_qms_uow", None)
        gitstore = g.get("gitstore")
        if gitstore is not None:
            gitstore.pending = None
    for callback in uow.after_commit:
        _quietly(callback)


def transactional(fn: Callable) -> Callable:
    """Run ``fn`` as a unit of work, or inside the one its caller owns."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if current() is not None:
            return fn(*args, **kwargs)
        for attempt in range(ATTEMPTS):
            try:
                with unit_of_work():
                    return fn(*args, **kwargs)
            except RefConflict:
                if attempt == ATTEMPTS - 1:
                    from qms.errors import Conflict

                    raise Conflict(
                        _("The document repository kept changing; nothing was saved. Try again.")
                    ) from None
                time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper


def _quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a side effect must not undo or hide the work that committed
        current_app.logger.exception("A callback after the transaction failed")


# -- publishing ref moves -------------------------------------------------------------------


def _lock_rows(names: list[str]) -> dict[str, str | None]:
    """Hold the ``git_ref`` rows of ``names`` until commit; return their acknowledged values.

    The no-op UPDATE takes the row locks on PostgreSQL (and the write lock on SQLite); a
    name without a row gets a placeholder row, whose key another transaction cannot
    insert until this one ends. So no other unit of work can publish these refs until
    this one ends, and a ref that git holds differently now was left by a dead process.
    Main's row is locked first by every publication, whatever it moves: publications are
    one at a time (on SQLite they are anyway), so any lock file git left in the repository
    then is stale. Raises :class:`RefConflict` when another transaction claimed a new name
    first.
    """
    _seed_if_empty()
    db.session.execute(
        update(GitRef).where(GitRef.name == MAIN).values(commit=GitRef.commit),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(GitRef).where(GitRef.name.in_(names)).values(commit=GitRef.commit),
        execution_options={"synchronize_session": False},
    )
    rows = db.session.execute(select(GitRef.name, GitRef.commit).where(GitRef.name.in_(names)))
    known: dict[str, str | None] = {name: commit for name, commit in rows}
    for name in names:
        if name not in known:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(GitRef).values(name=name, commit=CLAIMED))
            except IntegrityError as exc:
                raise RefConflict(f"{name} was created meanwhile") from exc
            known[name] = None
    return known


def _set_rows(values: dict[str, str | None]) -> None:
    """Record ``values`` as acknowledged (None: the ref no longer exists)."""
    for name, value in values.items():
        if value is None:
            db.session.execute(delete(GitRef).where(GitRef.name == name))
        else:
            db.session.execute(update(GitRef).where(GitRef.name == name).values(commit=value))


def _seed_if_empty() -> None:
    """Take git's refs as acknowledged when the table was never filled (a new installation
    or one upgraded to this table): there is no unit of work yet to have left any half."""
    if db.session.scalar(select(GitRef.name).limit(1)) is None:
        refs = store().managed_refs()
        db.session.add_all(GitRef(name=name, commit=value) for name, value in refs.items())
        db.session.flush()


def _publish() -> list[tuple[str, str | None, str | None]]:
    """Publish the queued ref moves; return them as ``(ref, new, old)`` for undoing."""
    gitstore = g.get("gitstore")
    if gitstore is None or not gitstore.pending:
        return []
    moves = {ref: ends for ref, ends in gitstore.pending.items() if ends[0] != ends[1]}
    if not moves:
        return []
    names = sorted(moves)
    acknowledged = _lock_rows(names)
    _clear_locks(gitstore)
    actual = gitstore.ref_values(names)
    leftovers = [
        (name, acknowledged[name], actual[name])
        for name in names
        if actual[name] != acknowledged[name]
    ]
    if any(moves[name][0] != acknowledged[name] for name in names):
        # Someone acknowledged a move of one of these refs after this work read it: run
        # the work again on theirs, with whatever a dead process left dropped first.
        _drop_leftovers(gitstore, leftovers)
        raise RefConflict("a ref moved since this unit of work read it")
    updates = [(name, moves[name][1], actual[name]) for name in names]
    gitstore.publish_refs(updates)
    _set_rows({name: new for name, new, _old in updates})
    if leftovers:
        _record_recovery(leftovers)
    return updates


def _clear_locks(gitstore: GitStore) -> None:
    """Remove the lock files a killed git left; call only while holding main's row."""
    removed = gitstore.remove_stale_locks(gitstore.locked_refs())
    if removed:
        current_app.logger.warning("Removed lock files left by a killed git: %s", removed)


def _unpublish(updates: list[tuple[str, str | None, str | None]]) -> None:
    """Put the refs back after the database refused to commit."""
    if not updates:
        return
    try:
        g.gitstore.publish_refs([(name, old, new) for name, new, old in updates])
    except GitStoreError:
        # The rows still say where the refs belong: recover() puts them there.
        current_app.logger.exception("Refs could not be put back after a failed commit")


def _drop_leftovers(gitstore: GitStore, leftovers: list[tuple[str, str | None, str | None]]):
    if not leftovers:
        return
    try:
        gitstore.publish_refs([(name, known, actual) for name, known, actual in leftovers])
        current_app.logger.warning("Dropped unacknowledged ref moves: %s", leftovers)
    except GitStoreError:
        current_app.logger.exception("Unacknowledged ref moves could not be dropped")


def _record_recovery(leftovers: list[tuple[str, str | None, str | None]]) -> None:
    from qms import trail

    for name, known, actual in leftovers:
        trail.record(
            "repository.recovered",
            "ref",
            name,
            before={"commit": actual},
            after={"commit": known, "reason": "published by a process that did not commit"},
        )


def pending_recovery() -> list[tuple[str, str | None, str | None]]:
    """Return ``(ref, acknowledged, in git)`` for every managed ref git holds differently."""
    _seed_if_empty()
    known = {
        name: commit for name, commit in db.session.execute(select(GitRef.name, GitRef.commit))
    }
    actual = store().managed_refs()
    return [
        (name, known.get(name), actual.get(name))
        for name in sorted(set(known) | set(actual))
        if known.get(name) != actual.get(name)
    ]


def recover() -> list[tuple[str, str | None, str | None]]:
    """Put every managed ref back where the database acknowledged it; return what moved.

    Run at the worker's start and by the job runner. Refs whose acknowledged object is
    missing from the repository cannot be mended this way; ``qms check`` reports them.
    """
    with unit_of_work():
        gitstore = store()
        differing = [name for name, _known, _actual in pending_recovery()]
        names = sorted(set(differing) | set(gitstore.locked_refs()))
        if not names:
            return []
        try:
            acknowledged = _lock_rows(names)
        except RefConflict:
            return []  # a live unit of work is creating one of them: the next run sees it
        _clear_locks(gitstore)
        mend = []
        for name in names:
            known, actual = acknowledged[name], gitstore.ref_value(name)
            if known != actual and (known is None or gitstore.has_object(known)):
                mend.append((name, known, actual))
        _set_rows({name: known for name, known in acknowledged.items() if known is None})
        if mend:
            gitstore.publish_refs([(name, known, actual) for name, known, actual in mend])
            _record_recovery(mend)
    return mend

"""Backup and restore: every table as portable JSON, the repository as a git bundle, and
every attached file.

The backup is a zip of ``manifest.json``, ``database.json``, ``documents.bundle`` and
``attachments/<aa>/<sha256>`` for each file a row names. The tables are read generically
from the metadata, so a domain's new tables are included without touching this module,
and values are written by column type (timestamps in UTC ISO form, dates, JSON as JSON,
bytes in base64) so a SQLite backup restores into PostgreSQL and back. The tables are
read in one snapshot and the bundle holds exactly the refs the ``git_ref`` rows of that
snapshot acknowledge, so a restored instance's refs match its database. A restore
checks every file against its hash before anything is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, inspect, select, text

from qms import attachments, signing, uow
from qms.errors import Conflict, ValidationFailed
from qms.extensions import db
from qms.gitstore import MAIN, GitStore
from qms.models import GitRef, utcnow

FORMAT = "qms-backup"
#: 2 added the attached files; a version 1 backup restores when its rows name none.
VERSION = 2
READABLE = (1, 2)
CHUNK = 500
#: How often a backup reads again when the repository moved while it was bundled.
ATTEMPTS = 5


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLite hands back naive datetimes for timezone-aware columns: they are UTC.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(column: sa.Column):
    # A decorated type (UTCDateTime) is read by what it stores.
    kind = column.type.impl if isinstance(column.type, sa.types.TypeDecorator) else column.type
    if isinstance(kind, sa.DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(kind, sa.Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(kind, sa.LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return lambda v: None if v is None else Decimal(v)
    return lambda v: v


def _tables() -> list[sa.Table]:
    """Return the application's tables that exist in this database, parents first."""
    existing = set(inspect(db.engine).get_table_names())
    return [t for t in db.metadata.sorted_tables if t.name in existing]


def dump_tables() -> dict[str, dict]:
    """Return every table's columns and rows, in primary-key order, as JSON-ready data."""
    result = {}
    for table in _tables():
        columns = [c.name for c in table.columns]
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(select(*table.columns).order_by(*order))
        result[table.name] = {
            "columns": columns,
            "rows": [[_encode(v) for v in row] for row in rows],
        }
    return result


def _heads() -> list[str]:
    try:
        return sorted(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except sa.exc.DBAPIError:
        db.session.rollback()
        return []


def _snapshot() -> dict[str, dict]:
    """Dump every table as one consistent snapshot, even while others write."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        # pysqlite begins no transaction for reads; without one each table would be read
        # at its own moment.
        db.session.connection().exec_driver_sql("BEGIN")
    try:
        return dump_tables()
    finally:
        db.session.rollback()


def _acknowledged(tables: dict[str, dict]) -> dict[str, str]:
    data = tables.get(GitRef.__tablename__) or {"columns": [], "rows": []}
    name, commit = data["columns"].index("name"), data["columns"].index("commit")
    return {row[name]: row[commit] for row in data["rows"]} if data["rows"] else {}


def named_files(tables: dict[str, dict]) -> set[str]:
    """Return the sha256 of every attached file the dumped rows name."""
    found: set[str] = set()
    for column in attachments.attachment_columns():
        data = tables.get(column.table.name)
        if not data or column.name not in data["columns"]:
            continue
        at = data["columns"].index(column.name)
        found.update(row[at] for row in data["rows"] if row[at])
    return found


def _entry(sha256: str) -> str:
    return f"attachments/{sha256[:2]}/{sha256}"


def backup(path: str | os.PathLike) -> dict:
    """Write the backup zip to ``path``; return its manifest.

    A file a row names that is missing or altered in the store cannot be backed up; it is
    listed under ``unreadable`` in the manifest (``qms check`` reports it too).

    :raises Conflict: the repository kept moving while it was bundled.
    """
    # What a crash left (a ref the database never acknowledged) is put back first, as the
    # worker would: the bundle must hold exactly the refs the rows acknowledge.
    uow.recover()
    store = GitStore(current_app.config["QMS_DOCUMENTS_REPO"])
    try:
        with tempfile.TemporaryDirectory(prefix="qms-backup-") as tmp:
            bundle = Path(tmp) / "documents.bundle"
            for _attempt in range(ATTEMPTS):
                tables = _snapshot()
                store.create_bundle(bundle)
                # Refs only move forward from what a snapshot acknowledged: when they are
                # the same after bundling, the bundle holds exactly those refs.
                if store.managed_refs() == _acknowledged(tables):
                    break
            else:
                raise Conflict(
                    _("The document repository kept changing during the backup; try again.")
                )
            files, unreadable = {}, {}
            for sha in sorted(named_files(tables)):
                if not attachments.exists(sha):
                    unreadable[sha] = "missing"
                elif not attachments.verify(sha):
                    unreadable[sha] = "altered"
                else:
                    files[sha] = attachments.path(sha).stat().st_size
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": utcnow().isoformat(),
                "database": db.engine.dialect.name,
                "migrations": _heads(),
                "rows": {name: len(t["rows"]) for name, t in tables.items()},
                "attachments": files,
                "unreadable": unreadable,
                "signing": sorted(_signing_files()),
            }
            partial = Path(f"{path}.partial")
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("manifest.json", json.dumps(manifest, indent=2))
                archive.writestr("database.json", json.dumps(tables, ensure_ascii=False))
                archive.write(bundle, "documents.bundle")
                for sha in files:
                    # Pictures, PDFs and office files are compressed already.
                    archive.write(attachments.path(sha), _entry(sha), zipfile.ZIP_STORED)
                for name, source in _signing_files().items():
                    archive.write(source, f"signing/{name}")
            os.replace(partial, path)
    finally:
        store.close()
    return manifest


def _is_empty_repository(path: Path) -> bool:
    """Tell whether ``path`` is missing, or holds only the empty first commit of init."""
    if not path.exists():
        return True
    if not (path / "HEAD").exists():
        return not any(path.iterdir())
    store = GitStore(path)
    try:
        refs = store.refs("refs/")
        head = store.head(MAIN)
        return set(refs) <= {MAIN} and (
            head is None or (not store.commit_info(head).parents and not store.files(head))
        )
    finally:
        store.close()


def database_is_empty() -> bool:
    """Tell whether no table holds data (the trail's empty head row aside)."""
    for table in _tables():
        if table.name == "trail_head":
            if db.session.scalar(select(func.count()).where(table.c.seq != 0).select_from(table)):
                return False
            continue
        if db.session.scalar(select(func.count()).select_from(table)):
            return False
    return True


def restore(path: str | os.PathLike) -> dict:
    """Load a backup into this empty instance; return its manifest.

    Every attached file is checked against its hash, and every file the rows name must
    be in the backup, before anything is written; a refusal leaves the instance as it was.

    :raises Conflict: the database or the repository already holds data.
    :raises ValidationFailed: the file is not a backup this version can read, or it is
        damaged (a file does not match its hash, or one the rows name is not in it).
    """
    repo = Path(current_app.config["QMS_DOCUMENTS_REPO"])
    if not database_is_empty():
        raise Conflict(
            _("The database is not empty: a backup is only restored into a new, empty instance.")
        )
    if not _is_empty_repository(repo):
        raise Conflict(
            _(
                "The document repository %(path)s is not empty: a backup is only restored "
                "into a new, empty instance.",
                path=str(repo),
            )
        )
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read("manifest.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValidationFailed(_("%(path)s is not a QMS backup.", path=str(path))) from exc
    if manifest.get("format") != FORMAT or manifest.get("version") not in READABLE:
        raise ValidationFailed(_("%(path)s is not a QMS backup.", path=str(path)))
    tables = json.loads(archive.read("database.json"))
    known = {t.name: t for t in _tables()}
    for name, data in tables.items():
        table = known.get(name)
        if table is None:
            raise ValidationFailed(
                _(
                    "The backup has a table %(name)s this installation does not have; "
                    "upgrade it first.",
                    name=name,
                )
            )
        missing = set(data["columns"]) - set(table.columns.keys())
        if missing:
            raise ValidationFailed(
                _(
                    "The backup has columns %(columns)s that %(name)s here lacks; upgrade first.",
                    columns=", ".join(sorted(missing)),
                    name=name,
                )
            )

    files = dict(manifest.get("attachments") or {})
    lacking = named_files(tables) - set(files) - set(manifest.get("unreadable") or {})
    if lacking:
        raise ValidationFailed(
            _(
                "The backup lacks %(count)s attached files its rows name (such as %(sha)s); "
                "nothing was restored.",
                count=len(lacking),
                sha=min(lacking),
            )
        )

    root = attachments.root()
    root.mkdir(parents=True, exist_ok=True)
    # Staged inside the store, so that each file moves into place by a rename.
    inbox = root / f".restore-{secrets.token_hex(4)}"
    placed: list[Path] = []
    try:
        _stage_files(archive, files, inbox)
        with tempfile.TemporaryDirectory(prefix="qms-restore-", dir=repo.parent) as tmp:
            bundle = Path(tmp) / "documents.bundle"
            with archive.open("documents.bundle") as source, open(bundle, "wb") as target:
                shutil.copyfileobj(source, target)
            staged = Path(tmp) / "documents.git"
            GitStore.from_bundle(bundle, staged).close()
            with uow.unit_of_work():
                _load(tables, known)
                # The repository and the files go into place before the rows commit: a
                # failed commit moves them out again, leaving the instance empty.
                uow.after_rollback(lambda: _empty_repository(repo))
                uow.after_rollback(lambda: [p.unlink(missing_ok=True) for p in placed])
                if repo.exists():
                    shutil.rmtree(repo)
                os.replace(staged, repo)
                for sha in files:
                    target = attachments.path(sha)
                    if not target.exists():
                        target.parent.mkdir(exist_ok=True)
                        os.replace(inbox / sha, target)
                        placed.append(target)
    finally:
        shutil.rmtree(inbox, ignore_errors=True)
    # The repository was replaced: a store opened on the empty one must not be read again.
    uow.close_store()
    _restore_signing(archive, manifest.get("signing") or [])
    return manifest


#: The installation's signing key and its allowed signers (see :mod:`qms.signing`).
SIGNING_FILES = ("key", "key.pub", "allowed_signers")


def _signing_files() -> dict[str, Path]:
    """The signing key's files that exist, by name: a restored instance signs on with them."""
    folder = signing.directory()
    return {name: folder / name for name in SIGNING_FILES if (folder / name).is_file()}


def _restore_signing(archive: zipfile.ZipFile, names: list[str]) -> None:
    """Put the backup's signing key in place of the key the empty instance was made with.

    That key has signed nothing (the instance was empty), while the restored history is
    signed by the backup's key and its allowed signers; so the backup's key is the one to
    keep signing with. A backup made before signing carries none: the instance keeps its own.
    """
    names = [n for n in names if n in SIGNING_FILES]
    if "key" not in names:
        return
    folder = signing.directory()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".signing-", dir=folder.parent))
    try:
        for name in names:
            (staged / name).write_bytes(archive.read(f"signing/{name}"))
        os.chmod(staged / "key", 0o600)
        os.chmod(staged, 0o700)
        old = folder.with_name(f"{folder.name}.replaced")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(staged, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _empty_repository(repo: Path) -> None:
    shutil.rmtree(repo, ignore_errors=True)
    GitStore.init(repo).close()


def _stage_files(archive: zipfile.ZipFile, files: dict[str, int], inbox: Path) -> None:
    """Extract every attached file into ``inbox``, proving each by its hash.

    :raises ValidationFailed: a file is not in the backup or does not match its hash.
    """
    inbox.mkdir()
    for sha in sorted(files):
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValidationFailed(_("The backup names an attached file %(sha)s wrongly.", sha=sha))
        digest = hashlib.sha256()
        try:
            with archive.open(_entry(sha)) as source, open(inbox / sha, "wb") as target:
                while chunk := source.read(attachments.CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
        except KeyError:
            raise ValidationFailed(
                _(
                    "The attached file %(sha)s is missing from the backup; nothing was restored.",
                    sha=sha,
                )
            ) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise ValidationFailed(
                _(
                    "The attached file %(sha)s cannot be read from the backup (%(error)s); "
                    "nothing was restored.",
                    sha=sha,
                    error=exc,
                )
            ) from exc
        if digest.hexdigest() != sha:
            raise ValidationFailed(
                _(
                    "The attached file %(sha)s in the backup does not match its hash: the "
                    "backup is damaged, and nothing was restored.",
                    sha=sha,
                )
            )


def _load(tables: dict[str, dict], known: dict[str, sa.Table]) -> None:
    """Insert every table's rows, parents first; set the id sequences on PostgreSQL."""
    db.session.execute(known["trail_head"].delete()) if "trail_head" in known else None
    for name, table in known.items():
        data = tables.get(name)
        if not data or not data["rows"]:
            continue
        columns = data["columns"]
        decode = [_decoder(table.c[c]) for c in columns]
        # A column pointing into its own table (a document's parent) is filled in after
        # every row exists, so the order of the rows does not matter.
        later = [
            fk.parent.name
            for fk in table.foreign_keys
            if fk.column.table is table and fk.parent.name in columns
        ]
        rows = []
        for raw in data["rows"]:
            row = {c: d(v) for c, d, v in zip(columns, decode, raw, strict=True)}
            rows.append(row)
        staged = [{**row, **dict.fromkeys(later)} for row in rows] if later else rows
        for start in range(0, len(staged), CHUNK):
            db.session.execute(table.insert(), staged[start : start + CHUNK])
        for column in later:
            key = list(table.primary_key.columns)[0]
            for row in rows:
                if row[column] is not None:
                    db.session.execute(
                        table.update().where(key == row[key.name]).values({column: row[column]})
                    )
    if db.engine.dialect.name == "postgresql":
        for table in known.values():
            for column in table.primary_key.columns:
                if isinstance(column.type, sa.Integer) and column.autoincrement in (True, "auto"):
                    db.session.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence(:table, :column), "
                            f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, '
                            "false) WHERE pg_get_serial_sequence(:table, :column) IS NOT NULL"
                        ),
                        {"table": f'"{table.name}"', "column": column.name},
                    )

"""Database helpers shared by every domain."""

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from qms.extensions import db


def configure_sqlite(engine: Engine) -> None:
    """Turn on foreign keys and WAL so that several workers can share the file."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def next_number(name: str) -> int:
    """Take the next value of the named counter inside the current transaction.

    The row update holds the counter's lock until commit, so concurrent callers
    get distinct numbers on SQLite and PostgreSQL alike.
    """
    bump = text("UPDATE counter SET value = value + 1 WHERE name = :name RETURNING value")
    value = db.session.execute(bump, {"name": name}).scalar()
    if value is None:
        from sqlalchemy.exc import IntegrityError

        try:
            with db.session.begin_nested():
                db.session.execute(
                    text("INSERT INTO counter (name, value) VALUES (:name, 1)"), {"name": name}
                )
            return 1
        except IntegrityError:
            # Another transaction created it first; its row now exists to bump.
            value = db.session.execute(bump, {"name": name}).scalar_one()
    return value

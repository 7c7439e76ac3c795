"""Fixtures: an app on a fresh database and document repository for every test.

The schema is built once per run by the real migrations, on SQLite (copied per test)
or on the PostgreSQL server named by QMS_TEST_DATABASE_URL (emptied after each test
and dropped at the end, so a run leaves that database clean).
"""

import os
import shutil
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from qms import ROOT, create_app
from qms.auth.services import create_user
from qms.extensions import db
from qms.gitstore import GitStore

PG_URL = os.environ.get("QMS_TEST_DATABASE_URL")
PASSWORD = "correct-horse-9"
MIGRATIONS = str(ROOT / "migrations")

# username: (roles, department)
USERS = {
    "staff": (["staff"], "Service Hall"),
    "staff2": (["staff"], "Quality Office"),
    "author": (["author"], "Quality Office"),
    "author2": (["author"], "Service Hall"),
    "approver": (["approver"], "Quality Office"),
    "approver2": (["approver", "author"], "Quality Office"),
    "auditor": (["auditor"], "Business Approval Department"),
    "admin": (["admin"], "Information Technology Department"),
}


def _config(instance: Path, url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "QMS_INSTANCE": str(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "QMS_DOCUMENTS_REPO": str(instance / "documents.git"),
        "WTF_CSRF_ENABLED": False,
        "QMS_PASSWORD_METHOD": "pbkdf2:sha256:1000",
    }


def _worker_database(url: str, drop: bool = False) -> str:
    """Return the database of this pytest-xdist worker on the server of ``url``.

    Run in parallel (``pytest -n 2``), each worker creates ``<database>_<worker>`` so that
    workers never empty each other's tables; a run in one process uses ``url`` itself.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, name = url.rsplit("/", 1)
    name = f"{name}_{worker}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Build the schema once by migrations; yield how to get a fresh copy."""
    if PG_URL:
        url = _worker_database(PG_URL)
        app = create_app(_config(tmp_path_factory.mktemp("pg"), url))
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            upgrade(directory=MIGRATIONS, revision="heads")
        yield url
        with app.app_context():
            downgrade(directory=MIGRATIONS, revision="base")
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.engine.dispose()
        if url != PG_URL:
            _worker_database(PG_URL, drop=True)
        return
    template = tmp_path_factory.mktemp("template") / "qms.sqlite"
    app = create_app(_config(template.parent, f"sqlite:///{template}"))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        db.engine.dispose()
    yield template


def empty_postgres() -> None:
    """Empty every table and restart every id sequence, as a fresh schema has them.

    DELETE, children first, rather than TRUNCATE: a test leaves a few rows, and TRUNCATE
    of fifty tables costs a quarter of a second each time, longer than most tests.
    """
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.execute(
        text(
            "SELECT setval(c.oid, 1, false) FROM pg_class c"
            " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
        )
    )
    db.session.execute(
        text("INSERT INTO trail_head (id, seq, last_hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
    )
    db.session.commit()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory):
    """One installation signing key for the whole run: ssh-keygen once, copied per test."""
    from qms import signing

    folder = tmp_path_factory.mktemp("signing") / "signing"
    signing.generate(folder)
    return folder


@pytest.fixture
def app(database, tmp_path, signing_key):
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copytree(signing_key, instance / "signing")
    if PG_URL:
        url = database
    else:
        shutil.copy(database, instance / "qms.sqlite")
        url = f"sqlite:///{instance / 'qms.sqlite'}"
    app = create_app(_config(instance, url))
    with app.app_context():
        GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
    yield app
    with app.app_context():
        db.session.remove()
        if PG_URL:
            empty_postgres()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.test_request_context():
        yield app


@pytest.fixture
def users(ctx):
    """One user per role (and a second author and approver), by username."""
    made = {}
    for username, (roles, dept) in USERS.items():
        made[username] = create_user(
            username,
            PASSWORD,
            roles,
            dept,
            full_name=username.title(),
            email=f"{username}@example.org",
        )
    db.session.commit()
    return made


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)

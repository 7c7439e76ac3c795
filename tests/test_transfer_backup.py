"""Backup and restore round trips (SQLite, PostgreSQL, one to the other) and the export."""

import uuid
import zipfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from qms import create_app, trail
from qms.documents import services
from qms.extensions import db
from qms.gitstore import GitStore
from qms.transfer import backup, exporting
from tests import builders
from tests.conftest import MIGRATIONS, PG_URL, _config
from tests.test_transfer_import import small_system


@pytest.fixture
def quality_system(users, ctx, tmp_path):
    """Documents in every state, signatures, comments, a change request and an import."""
    from qms.transfer import importing

    builders.effective(users, "QP-07")
    services.raise_change_request(users["staff"], "Clarify", "Unclear step", ["QP-07"])
    builders.in_review(users, "QP-08", text=builders.content("QP-08", "Records"))
    services.add_comment(users["approver"], services.get_document("QP-08"), "Looks fine")
    importing.run(users["admin"], small_system(tmp_path / "src", 2))
    return ctx


def refs(path) -> dict:
    store = GitStore(path)
    try:
        return store.refs("refs/")
    finally:
        store.close()


def fresh_instance(tmp_path, url: str | None = None):
    """A new instance migrated to the current schema, with an empty repository."""
    instance = tmp_path / f"restored-{uuid.uuid4().hex[:6]}"
    instance.mkdir()
    url = url or f"sqlite:///{instance / 'qms.sqlite'}"
    app = create_app(_config(instance, url))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
    return app


@pytest.fixture
def pg_database():
    """A PostgreSQL database of its own, so the shared test database is left alone."""
    if not PG_URL:
        pytest.skip("QMS_TEST_DATABASE_URL is not set: no PostgreSQL to restore into")
    name = f"qms_transfer_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def round_trip(app, source_dump, source_refs, backup_file, target):
    with target.test_request_context():
        manifest = backup.restore(backup_file)
        assert backup.dump_tables() == source_dump
        assert refs(target.config["QMS_DOCUMENTS_REPO"]) == source_refs
        assert trail.verify() == []
        from qms.documents.consistency import check

        assert check() == []
        # Ids go on from where the backup left off.
        doc = builders.new_document(
            {"author": db.session.scalar(db.select(services.User).filter_by(username="author"))},
            "QP-99",
        )
        assert doc.id > max(r[0] for r in source_dump["document"]["rows"])
        db.session.remove()
        db.engine.dispose()
    return manifest


def test_backup_and_restore_give_the_same_system(quality_system, app, tmp_path):
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    dump, source_refs = backup.dump_tables(), refs(app.config["QMS_DOCUMENTS_REPO"])
    assert dump["signature"]["rows"] and dump["audit_event"]["rows"]
    target_url = None
    if PG_URL:
        pytest.skip("the same-database round trip on PostgreSQL is test_round_trip_on_postgres")
    round_trip(app, dump, source_refs, file, fresh_instance(tmp_path, target_url))


def test_round_trip_on_postgres_and_from_sqlite(quality_system, app, tmp_path, pg_database):
    # On the PostgreSQL run the source is PostgreSQL, on the SQLite run it is SQLite:
    # both directions into PostgreSQL are covered by running the suite on both.
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    dump, source_refs = backup.dump_tables(), refs(app.config["QMS_DOCUMENTS_REPO"])
    round_trip(app, dump, source_refs, file, fresh_instance(tmp_path, pg_database))


def test_postgres_backup_restores_into_sqlite(quality_system, app, tmp_path):
    if not PG_URL:
        pytest.skip("QMS_TEST_DATABASE_URL is not set: no PostgreSQL backup to restore")
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    dump, source_refs = backup.dump_tables(), refs(app.config["QMS_DOCUMENTS_REPO"])
    round_trip(app, dump, source_refs, file, fresh_instance(tmp_path))


def test_restore_refuses_an_instance_that_has_data(quality_system, app, tmp_path):
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    with pytest.raises(backup.Conflict, match="not empty"):
        backup.restore(file)


def test_restore_refuses_a_repository_with_history(users, ctx, app, tmp_path):
    builders.effective(users)
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        other = fresh_instance(tmp_path)
        target.config["QMS_DOCUMENTS_REPO"] = app.config["QMS_DOCUMENTS_REPO"]
        with pytest.raises(backup.Conflict, match="repository"):
            backup.restore(file)
        db.engine.dispose()
    del other


def test_restore_refuses_a_file_that_is_not_a_backup(ctx, tmp_path):
    file = tmp_path / "x.zip"
    file.write_bytes(b"nope")
    with pytest.raises(backup.ValidationFailed):
        backup.restore(file)


def test_cli_backup_and_restore(quality_system, app, runner, tmp_path):
    file = tmp_path / "b.zip"
    result = runner.invoke(args=["qms", "backup", str(file)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["qms", "restore", str(file)])
    assert result.exit_code != 0 and "not empty" in result.output


# -- export -------------------------------------------------------------------------------


def test_export_has_copies_register_and_records(quality_system, app, tmp_path, runner):
    path = tmp_path / "export.zip"
    result = runner.invoke(args=["qms", "export", str(path)])
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(path).namelist()
    for code in ("QP-07", "QM-01", "WI-02-01"):
        assert f"documents/{code}-A.docx" in names and f"documents/{code}-A.pdf" in names
    assert "documents/QP-08-A.pdf" not in names  # in review, not effective
    register = zipfile.ZipFile(path).read("register.csv").decode("utf-8-sig")
    assert "QP-07" in register and "QP-08" in register
    assert "register.xlsx" in names
    pdf = zipfile.ZipFile(path).read("documents/QP-07-A.pdf")
    assert pdf.startswith(b"%PDF")


def test_export_includes_records_per_form(users, ctx, tmp_path):
    records = pytest.importorskip("qms.records.services")
    form = (
        "---\ncode: RF-01\ntitle: Log\ntype: record_form\n"
        "fields:\n  - {key: note, label: Note, type: text}\n---\n\n# Log\n"
    )
    builders.effective(users, "RF-01", text=form, title="Log", doc_type="record_form")
    records.submit_record(users["staff"], "RF-01", {"note": "checked"})
    tables = exporting.record_tables()
    assert "RF-01" in tables and "checked" in tables["RF-01"].decode("utf-8-sig")


def test_formula_cells_are_neutralised_in_the_register(users, ctx):
    services.create_document(users["author"], "QP-01", "=HYPERLINK(1)", "procedure")
    assert exporting.register_rows()[0][1] == "'=HYPERLINK(1)"

"""Backup and restore round trips (SQLite, PostgreSQL, one to the other) and the export."""

import hashlib
import importlib.util
import io
import os
import uuid
import zipfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from qms import ROOT, attachments, create_app, trail
from qms.documents import services
from qms.extensions import db
from qms.gitstore import GitStore
from qms.transfer import backup, exporting
from tests import builders
from tests.conftest import MIGRATIONS, PASSWORD, PG_URL, _config
from tests.test_transfer_import import PNG, small_system

#: Attached files of the quality system, by name: a photo and a scanned text note.
FILES = {"counter.png": PNG, "note.txt": "窗口 3 的旧表格\n".encode()}


@pytest.fixture
def quality_system(users, ctx, tmp_path):
    """Documents in every state, signatures, comments, a change request and an import."""
    from qms.transfer import importing

    builders.effective(users, "QP-07")
    services.raise_change_request(users["staff"], "Clarify", "Unclear step", ["QP-07"])
    builders.in_review(users, "QP-08", text=builders.content("QP-08", "Records"))
    services.add_comment(users["approver"], services.get_document("QP-08"), "Looks fine")
    importing.run(users["admin"], small_system(tmp_path / "src", 2))
    attach_evidence(users)
    return ctx


def attach_evidence(users):
    """An NC with a photo and a note as evidence, kept in the attachment store."""
    from qms.improvement import services as improvement
    from tests.builders_improvement import raised

    nc = raised(users)
    for name, data in FILES.items():
        improvement.add_attachment(users["staff"], nc, io.BytesIO(data), name)


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
        # The refs the restored rows acknowledge are the refs the restored repository has.
        from qms import uow

        assert uow.pending_recovery() == []
        assert trail.verify() == []
        from qms.documents.consistency import check

        assert check() == []
        # Every attached file is back, byte for byte, and nothing else is.
        assert attachments.problems() == []
        named = attachments.referenced()
        assert len(named) == len(FILES) and named == attachments.stored()
        assert {attachments.path(h).read_bytes() for h in named} == set(FILES.values())
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
    manifest = backup.backup(file)
    assert sorted(manifest["attachments"]) == sorted(
        hashlib.sha256(d).hexdigest() for d in FILES.values()
    )
    assert manifest["unreadable"] == {}
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


def files_of(app) -> dict[str, bytes]:
    with app.app_context():
        return {sha: attachments.path(sha).read_bytes() for sha in attachments.stored()}


def test_sqlite_backup_restores_into_postgres_and_back(users, app, tmp_path, pg_database):
    """SQLite -> PostgreSQL -> SQLite: every row, every ref, every attached byte the same."""
    from tests.conftest import USERS

    source = fresh_instance(tmp_path)
    with source.test_request_context():
        from qms.auth.services import create_user
        from qms.uow import unit_of_work

        with unit_of_work():
            made = {
                name: create_user(name, PASSWORD, roles, dept, full_name=name.title())
                for name, (roles, dept) in USERS.items()
            }
        builders.effective(made, "QP-07")
        builders.in_review(made, "QP-08", text=builders.content("QP-08", "Records"))
        attach_evidence(made)
        first = tmp_path / "from-sqlite.zip"
        backup.backup(first)
        dump, source_refs = backup.dump_tables(), refs(source.config["QMS_DOCUMENTS_REPO"])
        db.session.remove()
        db.engine.dispose()
    source_files = files_of(source)
    assert len(source_files) == len(FILES)

    postgres = fresh_instance(tmp_path, pg_database)
    with postgres.test_request_context():
        backup.restore(first)
        assert backup.dump_tables() == dump
        second = tmp_path / "from-postgres.zip"
        backup.backup(second)
        db.session.remove()
        db.engine.dispose()
    assert refs(postgres.config["QMS_DOCUMENTS_REPO"]) == source_refs
    assert files_of(postgres) == source_files

    back = fresh_instance(tmp_path)
    with back.test_request_context():
        backup.restore(second)
        assert backup.dump_tables() == dump
        assert attachments.problems() == []
        db.session.remove()
        db.engine.dispose()
    assert refs(back.config["QMS_DOCUMENTS_REPO"]) == source_refs
    assert files_of(back) == source_files


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


def damaged_copy(file, tmp_path, sha, data):
    """Return a copy of the backup ``file`` whose attached file ``sha`` holds ``data``."""
    damaged = tmp_path / f"damaged-{uuid.uuid4().hex[:6]}.zip"
    with zipfile.ZipFile(file) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            if item.filename == f"attachments/{sha[:2]}/{sha}":
                if data is not None:
                    target.writestr(item.filename, data)
            else:
                target.writestr(item, source.read(item.filename))
    return damaged


def assert_nothing_restored(target):
    with target.test_request_context():
        assert backup.database_is_empty()
        assert attachments.stored() == set()
        assert backup._is_empty_repository(Path(target.config["QMS_DOCUMENTS_REPO"]))
        db.engine.dispose()


@pytest.mark.parametrize("data", [b"altered evidence", None], ids=["altered", "missing"])
def test_restore_refuses_a_backup_whose_file_does_not_match(quality_system, tmp_path, data):
    file = tmp_path / "qms-backup.zip"
    sha = sorted(backup.backup(file)["attachments"])[0]
    damaged = damaged_copy(file, tmp_path, sha, data)
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        with pytest.raises(backup.ValidationFailed, match=sha) as refused:
            backup.restore(damaged)
        db.engine.dispose()
    message = refused.value.message
    assert ("does not match its hash" if data else "missing from the backup") in message
    assert "nothing was restored" in message
    assert_nothing_restored(target)


def test_cli_restore_names_the_damaged_file(quality_system, tmp_path):
    file = tmp_path / "qms-backup.zip"
    sha = sorted(backup.backup(file)["attachments"])[0]
    damaged = damaged_copy(file, tmp_path, sha, b"altered")
    target = fresh_instance(tmp_path)
    with target.app_context():  # the command runs in the app context it finds
        result = target.test_cli_runner().invoke(args=["qms", "restore", str(damaged)])
        db.engine.dispose()
    assert result.exit_code == 1 and sha in result.output and "hash" in result.output
    assert_nothing_restored(target)


def test_restore_refuses_a_backup_that_lacks_a_named_file(quality_system, tmp_path):
    import json

    file = tmp_path / "qms-backup.zip"
    manifest = backup.backup(file)
    sha = sorted(manifest["attachments"])[0]
    # An old-style backup: the rows name the file, but neither manifest nor zip has it.
    manifest["attachments"].pop(sha)
    lacking = tmp_path / "lacking.zip"
    with zipfile.ZipFile(file) as source, zipfile.ZipFile(lacking, "w") as target:
        for item in source.infolist():
            if item.filename == "manifest.json":
                target.writestr(item, json.dumps(manifest))
            elif sha not in item.filename:
                target.writestr(item, source.read(item.filename))
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        with pytest.raises(backup.ValidationFailed, match="lacks 1 attached files"):
            backup.restore(lacking)
        db.engine.dispose()
    assert_nothing_restored(target)


def test_a_failed_commit_leaves_no_restored_file(quality_system, tmp_path, monkeypatch):
    file = tmp_path / "qms-backup.zip"
    backup.backup(file)
    target = fresh_instance(tmp_path)
    with target.test_request_context():

        def refuse():
            raise RuntimeError("the database went away")

        monkeypatch.setattr(db.session, "commit", refuse)
        with pytest.raises(RuntimeError):
            backup.restore(file)
        monkeypatch.undo()
        db.session.rollback()
        db.engine.dispose()
    assert_nothing_restored(target)


def test_backup_reports_a_file_missing_from_the_store(quality_system, app, runner, tmp_path):
    sha = sorted(attachments.referenced())[0]
    attachments.path(sha).unlink()
    result = runner.invoke(args=["qms", "backup", str(tmp_path / "b.zip")])
    assert result.exit_code == 1
    assert f"attachment {sha} is missing" in result.output
    manifest = backup.backup(tmp_path / "b2.zip")
    assert manifest["unreadable"] == {sha: "missing"} and len(manifest["attachments"]) == 1
    # Such a backup still restores: what was already lost is listed, and qms check says so.
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        backup.restore(tmp_path / "b2.zip")
        assert attachments.problems() == [f"attachment {sha} is named by the database but missing"]
        db.engine.dispose()


def test_backup_holds_the_refs_its_rows_acknowledge(users, ctx, app, tmp_path, monkeypatch):
    """A release published while the backup bundles is left out of both, or in both."""
    builders.approved(users)
    real = GitStore.create_bundle
    moved = []

    def bundle_while_a_release_lands(self, path):
        if not moved:  # a release lands between the first snapshot and its bundle
            moved.append(True)
            services.release(users["approver"], services.get_document("QP-07"))
        real(self, path)

    monkeypatch.setattr(GitStore, "create_bundle", bundle_while_a_release_lands)
    file = tmp_path / "b.zip"
    backup.backup(file)
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        backup.restore(file)
        from qms import uow

        assert uow.pending_recovery() == []
        assert services.get_document("QP-07").status == "effective"
        db.engine.dispose()


def test_cli_check_reports_attachment_problems(quality_system, app, runner):
    sha = sorted(attachments.referenced())[0]
    attachments.path(sha).write_bytes(b"tampered")
    from qms.uow import unit_of_work

    with unit_of_work():  # a file kept, whose row never came
        orphan = attachments.save_bytes(b"left behind\n", "orphan.txt")
    # Older than the grace given to files whose unit of work may still be running.
    os.utime(attachments.path(orphan.sha256), (1, 1))
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 1
    assert f"attachment {sha} does not match its hash" in result.output
    assert f"attachment {orphan.sha256} is stored but nothing names it" in result.output


# -- moving the old stores into the one store ------------------------------------------


def run_g2(app):
    path = ROOT / "migrations" / "versions" / "g2_attachments.py"
    spec = importlib.util.spec_from_file_location("g2_attachments", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with app.app_context():
        module.upgrade()


def test_migration_moves_the_old_stores_into_the_one_store(app):
    instance = Path(app.config["QMS_INSTANCE"])
    record, evidence, photo = b"record scan", b"nc evidence", b"audit photo"
    old = {}
    for data, folder in ((record, "attachments"), (evidence, "attachments")):
        sha = hashlib.sha256(data).hexdigest()
        (instance / folder).mkdir(exist_ok=True)
        (instance / folder / sha).write_bytes(data)
        old[sha] = data
    sha = hashlib.sha256(photo).hexdigest()
    (instance / "audit-attachments" / sha[:2]).mkdir(parents=True)
    (instance / "audit-attachments" / sha[:2] / sha).write_bytes(photo)
    old[sha] = photo
    (instance / "attachments" / ".upload-tmp").write_bytes(b"not a stored file")

    run_g2(app)
    run_g2(app)  # idempotent
    with app.app_context():
        assert attachments.stored() == set(old)
        for sha, data in old.items():
            assert attachments.path(sha).read_bytes() == data
    assert not (instance / "audit-attachments").exists()
    assert not [
        p for p in (instance / "attachments").iterdir() if p.is_file() and len(p.name) == 64
    ]


def test_migration_is_a_no_op_on_a_new_instance(app):
    run_g2(app)
    with app.app_context():
        assert attachments.stored() == set()


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

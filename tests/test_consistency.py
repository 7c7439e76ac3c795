"""A crash between the git step and the database step is found by check and repaired."""

import pytest
from sqlalchemy import text

from qms.documents import services
from qms.documents.consistency import check
from qms.extensions import db
from qms.gitstore import MAIN
from tests.builders import approved, content, effective, new_document


class Crash(Exception):
    pass


def crash_on_commit(monkeypatch):
    """Make the next database commit fail, as if the process died after writing git."""

    def boom():
        raise Crash("the database went away")

    monkeypatch.setattr(db.session, "commit", boom)


def test_release_crash_is_found_and_repaired(users, monkeypatch):
    doc = approved(users)
    with monkeypatch.context() as m:
        crash_on_commit(m)
        with pytest.raises(Crash):
            services.release(users["approver"], doc)
    db.session.rollback()
    assert services.open_revision(doc).status == "approved"  # the database never heard
    store = services.store()
    assert store.head("refs/tags/QP-07/A") is not None  # but git has the release

    findings = check()
    assert any("released in git" in f.message for f in findings)
    assert not any(f.repaired for f in findings)

    repaired = check(repair=True)
    assert all(f.repaired for f in repaired), [f.message for f in repaired]
    db.session.expire_all()
    doc = services.get_document("QP-07")
    assert doc.status == "effective" and doc.current_revision == "A"
    assert services.effective_revision(doc).release_commit == store.head("refs/tags/QP-07/A")
    assert check() == []


def test_draft_save_crash_is_repaired_from_the_branch(users, monkeypatch):
    doc = new_document(users)
    services.save_draft(users["author"], doc, content("QP-07"), "One")
    with monkeypatch.context() as m:
        crash_on_commit(m)
        with pytest.raises(Crash):
            services.save_draft(users["author"], doc, content("QP-07", body="# Two\n"), "Two")
    db.session.rollback()
    assert [f.repaired for f in check(repair=True)] == [True]
    rev = services.open_revision(services.get_document("QP-07"))
    assert "# Two" in services.revision_content(rev)
    assert check() == []


def test_obsolete_crash_is_repaired(users, monkeypatch):
    doc = effective(users)
    with monkeypatch.context() as m:
        crash_on_commit(m)
        with pytest.raises(Crash):
            services.obsolete(users["approver"], doc, "Withdrawn")
    db.session.rollback()
    assert [f.repaired for f in check(repair=True)] == [True]
    doc = services.get_document("QP-07")
    assert doc.status == "obsolete" and doc.obsolete_reason == "Withdrawn"
    assert check() == []


def test_unprovable_difference_is_reported_not_repaired(users):
    doc = effective(users)
    store = services.store()
    # Someone rewrote main behind the application's back.
    store.commit_on_main(
        {doc.path: store.write_blob(b"tampered")}, "edit", services.person(users["admin"])
    )
    findings = check(repair=True)
    assert [f.repaired for f in findings] == [False]
    assert "other content than the signed" in findings[0].message


def test_tampered_trail_is_reported(users):
    effective(users)
    db.session.execute(text("UPDATE audit_event SET action = 'nothing' WHERE seq = 2"))
    db.session.commit()
    messages = [f.message for f in check()]
    assert any("altered" in m for m in messages)


def test_check_command_exit_status(users, runner, monkeypatch):
    doc = approved(users)
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 0 and "agree" in result.output
    with monkeypatch.context() as m:
        crash_on_commit(m)
        with pytest.raises(Crash):
            services.release(users["approver"], doc)
    db.session.rollback()
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 1 and "problem:" in result.output
    result = runner.invoke(args=["qms", "check", "--repair"])
    assert result.exit_code == 0 and "repaired:" in result.output
    assert store_has_file(doc.path)


def store_has_file(path):
    store = services.store()
    return store.read(store.head(MAIN), path) is not None

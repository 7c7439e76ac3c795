"""`qms check`: what a crash leaves is found and put back, never adopted; the rest reported."""

import subprocess

import pytest
from sqlalchemy import text

from qms.documents import services
from qms.documents.consistency import check
from qms.extensions import db
from qms.gitstore import MAIN, draft_ref
from tests.builders import approved, content, effective, new_document


class Crash(Exception):
    pass


def crash_on_commit(monkeypatch):
    """Make the next database commit fail, after the refs were published."""

    def boom():
        raise Crash("the database went away")

    monkeypatch.setattr(db.session, "commit", boom)


def git(*args: str) -> str:
    """Run plain git on the document repository, as someone at the server would."""
    repo = str(services.store().path)
    return subprocess.run(
        ["git", "-C", repo, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def leave_draft_save(doc, body: str) -> str:
    """Leave what a process killed after publishing a draft save leaves: the branch ahead."""
    store = services.store()
    rev = services.open_revision(doc)
    blob = store.write_blob(content(doc.code, body=body).encode())
    commit = store.build_commit(
        rev.head_commit, {doc.path: blob}, "Save", services.person(rev.author)
    )
    git("update-ref", draft_ref(doc.code, rev.label), commit, rev.head_commit)
    return commit


def test_a_failed_commit_leaves_nothing_to_repair(users, monkeypatch):
    doc = approved(users)
    with monkeypatch.context() as m:
        crash_on_commit(m)
        with pytest.raises(Crash):
            services.release(users["approver"], doc)
    assert services.open_revision(doc).status == "approved"
    store = services.store()
    assert store.head("refs/tags/QP-07/A") is None
    assert store.head(draft_ref("QP-07", "A")) is not None
    assert check() == []


def test_an_unacknowledged_draft_save_is_dropped_not_adopted(users):
    doc = new_document(users)
    rev = services.save_draft(users["author"], doc, content("QP-07", body="# One\n"), "One")
    acknowledged = rev.head_commit
    leftover = leave_draft_save(doc, "# Two\n")

    findings = check()
    assert [f.repaired for f in findings] == [False, False]
    assert leftover[:10] in findings[0].message and acknowledged[:10] in findings[0].message

    repaired = check(repair=True)
    assert [f.repaired for f in repaired] == [True], [f.message for f in repaired]
    assert services.store().head(draft_ref("QP-07", "A")) == acknowledged
    assert "# One" in services.revision_content(services.open_revision(doc))
    assert check() == []


def test_an_unacknowledged_release_is_put_back(users):
    doc = approved(users)
    rev = services.open_revision(doc)
    store = services.store()
    main, head = store.head(MAIN), rev.head_commit
    # What a release killed between publishing its refs and committing leaves behind.
    release = store.build_commit(
        main, {doc.path: rev.blob_id}, "Release", services.person(rev.author)
    )
    tag = store.build_tag("QP-07/A", release, "QP-07 revision A", services.person(rev.author))
    store.publish_refs(
        [
            (MAIN, release, main),
            ("refs/tags/QP-07/A", tag, None),
            (draft_ref("QP-07", "A"), None, head),
        ]
    )
    assert any("refs/tags/QP-07/A" in f.message for f in check())

    repaired = check(repair=True)
    assert sorted(f.message.split(":")[0] for f in repaired if f.repaired) == [
        "refs/heads/drafts/QP-07/A",
        "refs/heads/main",
        "refs/tags/QP-07/A",
    ]
    assert [f.message for f in repaired if not f.repaired] == []
    assert (store.head(MAIN), store.head(draft_ref("QP-07", "A"))) == (main, head)
    assert store.refs("refs/tags/") == {}
    assert check() == []
    services.release(users["approver"], doc)
    assert [c.trailer("Document") for c in store.log(MAIN)].count("QP-07") == 1
    assert check() == []


def test_a_missing_draft_branch_is_reported_and_put_back(users):
    doc = new_document(users)
    rev = services.save_draft(users["author"], doc, content("QP-07"), "One")
    git("update-ref", "-d", draft_ref("QP-07", "A"))
    messages = [f.message for f in check()]
    assert "QP-07/A: the draft branch is missing" in messages
    assert [f.repaired for f in check(repair=True)] == [True]
    assert services.store().head(draft_ref("QP-07", "A")) == rev.head_commit
    assert check() == []


def test_main_moved_by_hand_is_put_back(users):
    doc = effective(users)
    store = services.store()
    main = store.head(MAIN)
    tampered = store.build_commit(
        main, {doc.path: store.write_blob(b"tampered")}, "edit", services.person(users["admin"])
    )
    git("update-ref", MAIN, tampered, main)
    messages = [f.message for f in check()]
    assert any("other content than the signed" in m for m in messages)
    assert [f.repaired for f in check(repair=True)] == [True]
    assert store.head(MAIN) == main
    assert check() == []


def test_unmendable_difference_is_reported_not_repaired(users):
    effective(users)
    db.session.execute(text("UPDATE revision SET blob_id = :b"), {"b": "0" * 40})
    db.session.commit()
    findings = check(repair=True)
    assert [f.repaired for f in findings] == [False]
    assert "other content than the signed" in findings[0].message


def test_a_release_the_database_does_not_know_is_reported(users):
    doc = effective(users)
    db.session.execute(text("UPDATE revision SET status = 'approved', release_commit = NULL"))
    db.session.commit()
    messages = [f.message for f in check()]
    assert any("QP-07/A was released on main" in m and "approved" in m for m in messages)
    assert doc.path in services.store().files(services.store().head(MAIN))


def test_tampered_trail_is_reported(users):
    effective(users)
    db.session.execute(text("UPDATE audit_event SET action = 'nothing' WHERE seq = 2"))
    db.session.commit()
    messages = [f.message for f in check()]
    assert any("altered" in m for m in messages)


def test_check_command_exit_status(users, runner):
    doc = new_document(users)
    services.save_draft(users["author"], doc, content("QP-07"), "One")
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 0 and "agree" in result.output
    leave_draft_save(doc, "# Two\n")
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 1 and "problem:" in result.output
    result = runner.invoke(args=["qms", "check", "--repair"])
    assert result.exit_code == 0 and "repaired:" in result.output
    result = runner.invoke(args=["qms", "check"])
    assert result.exit_code == 0 and "agree" in result.output

"""One unit of work over git and the database: a refusal or a crash leaves no half state.

Each test names a defect git and the database used to disagree by; it fails on the code
before the unit of work (a refused save left its draft branch behind, a crash left a
release on main untagged, a retry released twice) and passes now.
"""

import os
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from qms.auth.services import create_token
from qms.documents import services
from qms.documents.consistency import check
from qms.documents.models import Revision
from qms.extensions import db
from qms.gitstore import MAIN, TRAIL_REF, GitStore, GitStoreError, draft_ref
from tests.builders import approved, content, new_document

SCRIPT = "<script>alert(1)</script>"


class Crash(Exception):
    pass


@pytest.fixture
def api(client, users):
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="author", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def git_refs() -> dict[str, str]:
    """Return every ref as git itself has it (tags peeled to their commit)."""
    store = services.store()
    return {**store.refs("refs/heads/"), **store.refs("refs/tags/")}


def commit_fails_once(monkeypatch) -> None:
    """Make the next database commit fail: the refs were published, the rows not."""

    def boom():
        monkeypatch.undo()
        raise Crash("the database went away")

    monkeypatch.setattr(db.session, "commit", boom)


CHILD = textwrap.dedent(
    """
    import os, sys
    from qms import create_app
    from qms.auth.models import User
    from qms.documents import services
    from qms.extensions import db

    instance, url, step, code = sys.argv[1:5]
    app = create_app({
        "QMS_INSTANCE": instance, "SQLALCHEMY_DATABASE_URI": url,
        "QMS_DOCUMENTS_REPO": instance + "/documents.git", "SECRET_KEY": "x",
    })
    with app.test_request_context():
        def user(name):
            return db.session.scalar(db.select(User).where(User.username == name))

        # Die as SIGKILL would: after git has moved, before the database commits.
        db.session.commit = lambda: os._exit(9)
        doc = services.get_document(code)
        if step == "save":
            services.save_draft(user("author"), doc, sys.argv[5], "Killed")
        else:
            services.release(user("approver"), doc)
    """
)


def killed(app, step: str, code: str = "QP-07", *args: str) -> None:
    """Run ``step`` in a real process that dies between git and the database commit."""
    db.session.commit()  # end the transaction: hold no lock the child waits for
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            app.config["QMS_INSTANCE"],
            app.config["SQLALCHEMY_DATABASE_URI"],
            step,
            code,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert proc.returncode == 9, proc.stderr


# -- draft saves ---------------------------------------------------------------------------


def test_a_refused_save_leaves_no_draft_and_a_clean_save_succeeds(api, users):
    new_document(users, "QP-05")
    response = api("PUT", "/documents/QP-05/draft", json={"content": content("QP-05", body=SCRIPT)})
    assert response.status_code == 422, response.json
    assert draft_ref("QP-05", "A") not in git_refs()  # the refused first save left nothing

    response = api("PUT", "/documents/QP-05/draft", json={"content": content("QP-05")})
    assert response.status_code == 200, response.json
    head = git_refs()[draft_ref("QP-05", "A")]

    response = api("PUT", "/documents/QP-05/draft", json={"content": content("QP-05", body=SCRIPT)})
    assert response.status_code == 422
    assert git_refs()[draft_ref("QP-05", "A")] == head
    response = api(
        "PUT", "/documents/QP-05/draft", json={"content": content("QP-05", body="# Two\n")}
    )
    assert response.status_code == 200, response.json
    assert check() == []


def test_a_save_whose_commit_failed_blocks_nothing_and_is_not_adopted(users, monkeypatch):
    doc = new_document(users)
    acknowledged = services.save_draft(users["author"], doc, content("QP-07"), "One").head_commit
    with monkeypatch.context() as m:
        commit_fails_once(m)
        with pytest.raises(Crash):
            services.save_draft(users["author"], doc, content("QP-07", body="# Lost\n"), "Two")
    db.session.rollback()
    assert git_refs()[draft_ref("QP-07", "A")] == acknowledged

    rev = services.save_draft(
        users["author"], doc, content("QP-07", body="# Three\n"), "Three", base_commit=acknowledged
    )
    assert services.store().commit_info(rev.head_commit).parents == (acknowledged,)
    from qms import uow

    assert uow.recover() == []
    assert check() == []


@pytest.mark.slow
def test_a_save_killed_after_git_blocks_nothing_and_is_dropped(app, users, api):
    doc = new_document(users)
    acknowledged = services.save_draft(users["author"], doc, content("QP-07"), "One").head_commit
    killed(app, "save", "QP-07", content("QP-07", body="# Unacknowledged\n"))
    leftover = git_refs()[draft_ref("QP-07", "A")]
    assert leftover != acknowledged  # the dead process moved the branch

    response = api(
        "PUT",
        "/documents/QP-07/draft",
        json={"content": content("QP-07", body="# Three\n"), "base_commit": acknowledged},
    )
    assert response.status_code == 200, response.json
    history = {c.sha for c in services.store().log(draft_ref("QP-07", "A"), first_parent=False)}
    assert acknowledged in history and leftover not in history
    from qms import uow

    assert uow.recover() == []
    assert check() == []


# -- releases ------------------------------------------------------------------------------


def release_state(code: str = "QP-07", label: str = "A") -> str:
    """Return "old" (approved, not on main), "new" (effective, tagged) or what is mixed."""
    db.session.expire_all()
    refs = git_refs()
    store = services.store()
    doc = services.get_document(code)
    rev = db.session.scalar(
        select(Revision).where(Revision.document_id == doc.id, Revision.label == label)
    )
    main, tag, draft = refs[MAIN], refs.get(f"refs/tags/{code}/{label}"), draft_ref(code, label)
    on_main = store.blob_id(main, doc.path)
    if (on_main, tag, draft in refs, rev.status) == (None, None, True, "approved"):
        return "old"
    if (on_main, tag, draft in refs, rev.status) == (
        rev.blob_id,
        main,
        False,
        "effective",
    ) and rev.release_commit == main:
        return "new"
    return f"mixed: main has {on_main}, tag {tag}, draft {draft in refs}, {rev.status}"


def releases_on_main(code: str = "QP-07") -> list[str]:
    """Return the commits on main's first-parent line that release ``code``."""
    return [
        c.sha
        for c in services.store().log(MAIN)
        if c.trailer("Document") == code and c.trailer("Revision")
    ]


def crash_in_a_hook(monkeypatch):
    """Fail inside the release, after its git objects, before any ref is published."""

    def boom(event, rev):
        raise Crash("a hook failed inside the release")

    services.REVISION_HOOKS.append(boom)
    return lambda: services.REVISION_HOOKS.remove(boom)


def crash_at(method):
    def arm(monkeypatch):
        def boom(*args, **kwargs):
            raise Crash(f"crashed at {method}")

        monkeypatch.setattr(GitStore, method, boom)

    return arm


def crash_deleting_the_draft(monkeypatch):
    real = GitStore.update_ref

    def update_ref(self, ref, new, old):
        if new is None and ref.startswith("refs/heads/drafts/"):
            raise Crash("crashed deleting the draft branch")
        return real(self, ref, new, old)

    monkeypatch.setattr(GitStore, "update_ref", update_ref)


CRASHES = {
    # before any ref is published: while the database rows are being written
    "in the release": crash_in_a_hook,
    # where the release used to move main, then the tag, then the draft, one by one
    "tagging": crash_at("create_tag"),
    "deleting the draft": crash_deleting_the_draft,
    # git refuses the one publication of every ref
    "publishing": crash_at("publish_refs"),
    # after the refs were published, the database commit fails
    "committing": commit_fails_once,
}


@pytest.mark.parametrize("step", CRASHES)
def test_a_release_crash_leaves_the_old_state_and_a_retry_releases_once(users, monkeypatch, step):
    doc = approved(users)
    with monkeypatch.context() as m:
        disarm = CRASHES[step](m)
        try:
            with pytest.raises((Crash, GitStoreError)):
                services.release(users["approver"], doc)
        finally:
            if disarm is not None:
                disarm()
    db.session.rollback()  # as the request's end does
    assert release_state() == "old"
    assert check() == []

    services.release(users["approver"], services.get_document("QP-07"))
    assert release_state() == "new"
    assert len(releases_on_main()) == 1
    assert check() == []


@pytest.mark.slow
@pytest.mark.parametrize("recover_first", [True, False], ids=["recovered", "retried"])
def test_a_release_killed_after_git_is_dropped_and_released_once(app, users, recover_first):
    approved(users)
    main = git_refs()[MAIN]
    killed(app, "release")
    unacknowledged = git_refs()[MAIN]
    assert unacknowledged != main and release_state().startswith("mixed")
    assert check() != []  # what the dead process left shows until it is mended

    if recover_first:  # as the worker does at start
        from qms import uow

        assert {ref for ref, _known, _actual in uow.recover()} == {
            MAIN,
            "refs/tags/QP-07/A",
            draft_ref("QP-07", "A"),
            TRAIL_REF,
        }
        assert release_state() == "old" and git_refs()[MAIN] == main
    # Another approver retries, so their release commit differs from the dead one's even
    # when made in the same second.
    services.release(users["approver2"], services.get_document("QP-07"))
    assert release_state() == "new"
    assert releases_on_main() == [git_refs()[MAIN]]
    assert unacknowledged not in releases_on_main()  # dropped, not adopted
    assert "Approver2" in services.store().commit_info(git_refs()[MAIN]).author
    from qms import uow

    assert uow.pending_recovery() == []
    assert check() == []


def test_check_finds_a_release_on_main_whose_tag_was_deleted(users):
    doc = approved(users)
    services.release(users["approver"], doc)
    repo = str(services.store().path)
    subprocess.run(["git", "-C", repo, "tag", "-d", "QP-07/A"], check=True, capture_output=True)

    messages = [f.message for f in check()]
    assert any("QP-07/A" in m and "untagged" in m for m in messages), messages
    assert [f.repaired for f in check(repair=True)] == [True]
    assert release_state() == "new"
    assert check() == []

"""The bare document repository: plumbing writes, compare-and-swap refs, real processes."""

import subprocess
import sys
import textwrap

import pytest

from qms.documents import services
from qms.gitstore import (
    MAIN,
    GitStore,
    GitStoreError,
    Person,
    RefConflict,
    format_message,
    parse_trailers,
)
from tests.builders import approved

ALICE = Person("Alice", "alice@example.org")


@pytest.fixture
def store(tmp_path):
    """A repository used outside the application: ref moves are queued as a unit of work
    queues them, and :func:`publish` publishes them."""
    store = GitStore.init(tmp_path / "docs.git")
    store.pending = {}
    return store


def publish(store: GitStore) -> None:
    """Publish the queued ref moves in one compare-and-swap, as the unit of work does."""
    moves = [(ref, new, old) for ref, (old, new) in store.pending.items()]
    store.pending = {}
    store.publish_refs(moves)


def test_init_makes_a_bare_repository_with_main(store):
    assert store.repo.bare
    assert store.head(MAIN) is not None
    assert store.files(store.head(MAIN)) == {}
    # Idempotent: a second init keeps the history.
    assert GitStore.init(store.path).head(MAIN) == store.head(MAIN)


def test_refs_move_only_inside_a_unit_of_work(store):
    store.pending = None
    with pytest.raises(GitStoreError, match="unit of work"):
        store.commit_on_main({"a.md": store.write_blob(b"a")}, "a", ALICE)


def test_commit_on_main_writes_without_a_work_tree(store):
    blob = store.write_blob(b"# Hello\n")
    commit = store.commit_on_main({"procedures/QP-01.md": blob}, "Add", ALICE)
    publish(store)
    assert store.head(MAIN) == commit
    assert store.read(commit, "procedures/QP-01.md") == b"# Hello\n"
    assert store.commit_info(commit).author == "Alice <alice@example.org>"
    removed = store.commit_on_main({"procedures/QP-01.md": None}, "Remove", ALICE)
    publish(store)
    assert store.read(removed, "procedures/QP-01.md") is None
    assert store.read(commit, "procedures/QP-01.md") == b"# Hello\n"


def test_queued_moves_read_as_moved_but_git_moves_only_on_publish(store):
    before = store.head(MAIN)
    first = store.commit_on_main({"a.md": store.write_blob(b"a")}, "a", ALICE)
    second = store.commit_on_main({"b.md": store.write_blob(b"b")}, "b", ALICE)
    assert store.head(MAIN) == second  # the unit of work sees its own moves
    assert store.ref_value(MAIN) == before  # git does not, yet
    assert store.commit_info(second).parents == (first,)
    publish(store)
    assert store.ref_value(MAIN) == second


def test_ref_moves_only_from_the_expected_value(store):
    old = store.head(MAIN)
    blob = store.write_blob(b"one")
    store.commit_on(MAIN, {"a.md": blob}, "one", ALICE, expected=old)
    with pytest.raises(RefConflict):
        store.commit_on(MAIN, {"b.md": blob}, "stale", ALICE, expected=old)
    publish(store)
    # Another writer that read main before that publication cannot publish over it.
    store.commit_on(MAIN, {"c.md": blob}, "late", ALICE, expected=old)
    with pytest.raises(RefConflict):
        publish(store)


def test_publication_is_all_or_nothing(store):
    main = store.head(MAIN)
    store.commit_on(
        "refs/heads/drafts/QP-01/A", {"a.md": store.write_blob(b"x")}, "x", ALICE, None, start=main
    )
    publish(store)
    draft = store.head("refs/heads/drafts/QP-01/A")
    store.commit_on_main({"b.md": store.write_blob(b"b")}, "b", ALICE)
    store.create_tag("QP-01/A", main, "A", ALICE)
    store.update_ref("refs/heads/drafts/QP-01/A", None, main)  # stale: the draft moved on
    with pytest.raises(RefConflict):
        publish(store)
    assert store.head(MAIN) == main
    assert store.refs("refs/tags/") == {}
    assert store.head("refs/heads/drafts/QP-01/A") == draft


def test_new_branch_must_not_exist(store):
    blob = store.write_blob(b"x")
    start = store.head(MAIN)
    store.commit_on("refs/heads/drafts/QP-01/A", {"a.md": blob}, "x", ALICE, None, start=start)
    publish(store)
    store.commit_on("refs/heads/drafts/QP-01/A", {"a.md": blob}, "x", ALICE, None, start=start)
    with pytest.raises(RefConflict):
        publish(store)


def test_tags_are_immutable(store):
    first = store.head(MAIN)
    second = store.commit_on_main({"a.md": store.write_blob(b"a")}, "a", ALICE)
    publish(store)
    store.create_tag("QP-01/A", first, "A", ALICE)
    publish(store)
    store.create_tag("QP-01/A", second, "A moved", ALICE)
    with pytest.raises(GitStoreError):
        publish(store)
    assert store.refs("refs/tags/") == {"refs/tags/QP-01/A": first}


def test_trailers_round_trip():
    message = format_message(
        "Release QP-01 revision B",
        "Why it changed.",
        [
            ("Document", "QP-01"),
            ("Revision", "B"),
            ("Change-Request", None),
            ("Approved-by", "Mei Rep <m@example.org>\nforged: line"),
        ],
    )
    trailers = parse_trailers(message)
    assert trailers["Document"] == ["QP-01"]
    assert "Change-Request" not in trailers
    # A value cannot smuggle in another trailer line.
    assert trailers["Approved-by"] == ["Mei Rep <m@example.org> forged: line"]
    assert "forged" not in trailers


def test_plain_git_clone_tells_the_story(users, tmp_path):
    """A clone: main holds the effective documents, tags mark releases, trailers tell who."""
    approved(users)
    doc = services.get_document("QP-07")
    services.release(users["approver"], doc)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(services.store().path), str(clone)], check=True)
    assert (clone / "procedures" / "QP-07.md").read_text().startswith("---\ncode: QP-07")
    tags = subprocess.run(["git", "tag"], cwd=clone, capture_output=True, text=True).stdout
    assert tags.split() == ["QP-07/A"]
    log = subprocess.run(
        ["git", "log", "-1", "--format=%(trailers:key=Document,key=Revision,key=Approved-by)"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Document: QP-07" in log and "Revision: A" in log and "Approved-by: Approver" in log


WORKER = textwrap.dedent(
    """
    import sys
    from qms import create_app
    from qms.auth.models import User
    from qms.documents import services
    from qms.extensions import db

    instance, url, code = sys.argv[1:4]
    app = create_app({
        "QMS_INSTANCE": instance, "SQLALCHEMY_DATABASE_URI": url,
        "QMS_DOCUMENTS_REPO": instance + "/documents.git", "SECRET_KEY": "x",
    })
    with app.test_request_context():
        approver = db.session.scalar(db.select(User).where(User.username == "approver"))
        services.release(approver, services.get_document(code))
    print("released", code)
    """
)


@pytest.mark.slow
def test_processes_releasing_at_once_lose_no_update(app, users):
    """Several real processes release different documents at once on one repository."""
    codes = [f"QP-{n:02d}" for n in range(1, 7)]
    for code in codes:
        approved(users, code)
    instance = app.config["QMS_INSTANCE"]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, instance, url, code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in codes
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    store = services.store()
    files = [f for f in store.files(store.head(MAIN)) if not f.startswith(".qms/")]
    assert sorted(files) == [f"procedures/{c}.md" for c in codes]
    assert sorted(store.refs("refs/tags/")) == [f"refs/tags/{c}/A" for c in codes]
    # Every release commit is on main's first-parent line: none was overwritten.
    released = {c.trailer("Document") for c in store.log(MAIN)}
    assert released >= set(codes)
    store.fsck()
    from qms.documents.consistency import check

    assert check() == []


def test_objects_written_in_process_are_what_git_writes(store):
    blob = store.write_blob("质量手册\n".encode())
    hashed = subprocess.run(
        ["git", "hash-object", "--stdin"], input="质量手册\n".encode(), capture_output=True
    )
    assert blob == hashed.stdout.decode().strip()
    tree = store._write_tree(None, {"b.md": blob, "a.md": blob})
    assert store.git.ls_tree(tree) == f"100644 blob {blob}\ta.md\n100644 blob {blob}\tb.md"
    # --strict checks each tree's entries, their order and modes.
    assert "error" not in store.fsck()


def test_a_release_runs_ten_git_processes_or_fewer(users, ctx, monkeypatch):
    """The release's blobs, tag and anchor tree are written in process, and the refs it
    publishes are read by one process: what bench/floors.py compares with raw plumbing."""
    doc = approved(users)
    started = []
    popen = subprocess.Popen.__init__

    def counted(self, args, *rest, **options):
        started.append(args)
        popen(self, args, *rest, **options)

    monkeypatch.setattr(subprocess.Popen, "__init__", counted)
    services.release(users["approver"], doc)
    monkeypatch.undo()
    assert doc.status == "effective"
    assert len(started) <= 10, started

"""`qms verify`: each kind of tampering with an instance or a clone is named, with exit 1.

The instance: QP-07 released as A and then B (A superseded), a record form in force
and one record amended once. Each test tampers as someone with access to the server
would, with plain git and SQL, and checks that `qms verify` names what was changed.
"""

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select, text

from qms import anchors, signing, trail, uow
from qms.documents import services
from qms.documents.models import Revision, Signature
from qms.extensions import db
from qms.gitstore import MAIN, TRAIL_REF
from qms.records import services as records
from tests.builders import content, effective
from tests.builders_records import form_in_force
from tests.conftest import PASSWORD

FIELDS = [{"key": "title", "label": "Title", "type": "text", "required": True}]


def git(*args: str, repo: str | Path | None = None) -> str:
    repo = str(repo or services.store().path)
    return subprocess.run(
        ["git", "-C", repo, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def instance(users):
    """QP-07 at revision B (A superseded), RF-01 in force, one record amended once."""
    doc = effective(users)
    services.save_draft(users["author"], doc, content("QP-07", body="# B\n\nRevised.\n"), "B")
    services.submit(users["author"], doc)
    services.approve(users["approver"], doc, PASSWORD)
    services.release(users["approver"], doc)
    form_in_force(users, "RF-01", FIELDS)
    record = records.submit_record(users["staff"], "RF-01", {"title": "First"})
    records.amend_record(users["staff"], record.number, {"title": "Second"}, "Typo")
    db.session.commit()
    return doc


def run_verify(runner) -> tuple[int, str]:
    """Run `qms verify` as an operator would, on what git and the database hold now."""
    db.session.commit()
    db.session.expire_all()
    uow.close_store()
    result = runner.invoke(args=["qms", "verify"])
    return result.exit_code, result.output


def assert_named(runner, *expected: str) -> str:
    code, output = run_verify(runner)
    assert code == 1, output
    for part in expected:
        assert part in output, output
    return output


def revision(code: str, label: str) -> Revision:
    return db.session.scalar(
        select(Revision).where(Revision.label == label, Revision.document.has(code=code))
    )


def test_an_untouched_instance_verifies_clean(instance, runner):
    code, output = run_verify(runner)
    assert code == 0, output
    assert "Verified" in output


def test_a_new_instance_verifies_clean(ctx, runner):
    code, output = run_verify(runner)
    assert code == 0, output


def test_release_commits_and_tags_are_signed(instance):
    store = services.store()
    rev = revision("QP-07", "B")
    git(
        "-c",
        "gpg.ssh.allowedSignersFile=" + str(signing.allowed_signers_path()),
        "verify-commit",
        rev.release_commit,
    )
    git(
        "-c",
        "gpg.ssh.allowedSignersFile=" + str(signing.allowed_signers_path()),
        "verify-tag",
        "QP-07/B",
    )
    assert store.read(store.head(MAIN), signing.ALLOWED_SIGNERS) == (
        signing.allowed_signers_path().read_bytes()
    )
    assert store.head(TRAIL_REF) is not None


# -- the five caught before ----------------------------------------------------------------


def test_an_edited_trail_row_is_named(instance, runner):
    db.session.execute(text("UPDATE audit_event SET object_key = 'QP-99' WHERE seq = 3"))
    assert_named(runner, "event 3 was altered")


def test_main_moved_back_is_named(instance, runner):
    main = services.store().head(MAIN)
    git("update-ref", MAIN, f"{main}^1")
    assert_named(runner, "refs/heads/main", "RF-01/A", "not in main's history")


def test_a_forged_commit_on_main_is_named(instance, runner):
    main = services.store().head(MAIN)
    forged = git("commit-tree", f"{main}^{{tree}}", "-p", main, "-m", "Forged")
    git("update-ref", MAIN, forged, main)
    assert_named(runner, "an unsigned commit on main", forged)


def test_a_moved_tag_is_named(instance, runner):
    rev_a = revision("QP-07", "A")
    git("update-ref", "refs/tags/QP-07/B", rev_a.release_commit)
    assert_named(runner, "QP-07/B")


def test_a_changed_blob_id_in_the_database_is_named(instance, runner):
    rev = revision("QP-07", "B")
    other = revision("QP-07", "A").blob_id
    db.session.execute(
        text("UPDATE revision SET blob_id = :b WHERE id = :i"), {"b": other, "i": rev.id}
    )
    assert_named(runner, "a release commit does not hold the signed content: QP-07/B")


# -- the seven that were not -----------------------------------------------------------------


def recompute_chain() -> None:
    """Rewrite every hash from the first event on and the head, as a forger would."""
    prev = trail.GENESIS
    for event in db.session.scalars(select(trail.AuditEvent).order_by(trail.AuditEvent.seq)):
        event.prev_hash = prev
        event.hash = event.compute_hash()
        prev = event.hash
    head = db.session.get(trail.TrailHead, 1)
    head.last_hash = prev
    head.seq = db.session.scalar(select(db.func.max(trail.AuditEvent.seq)))
    db.session.commit()


def test_a_trail_row_edited_with_its_chain_recomputed_is_named(instance, runner):
    event = db.session.scalar(select(trail.AuditEvent).where(trail.AuditEvent.seq == 3))
    event.object_key = "QP-99"
    recompute_chain()
    assert db.session.scalar(select(db.func.count()).select_from(trail.AuditEvent)) > 3
    assert trail.verify() == []  # the chain alone no longer shows it
    assert_named(runner, "the trail differs from its anchor in git: it was rewritten")


def test_the_newest_events_deleted_and_the_head_rewound_is_named(instance, runner):
    anchors.anchor()  # as the job runner does every hour
    newest = db.session.scalar(select(db.func.max(trail.AuditEvent.seq)))
    db.session.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": newest - 5})
    recompute_chain()
    assert trail.verify() == []
    assert_named(runner, "its newest events were removed", f"event {newest}")


def test_the_tag_of_the_revision_in_force_deleted_is_named(instance, runner):
    git("update-ref", "-d", "refs/tags/QP-07/B")
    assert_named(runner, "a released revision has no tag: QP-07/B")


def test_the_tag_of_a_superseded_revision_deleted_is_named(instance, runner):
    git("update-ref", "-d", "refs/tags/QP-07/A")
    assert_named(runner, "a released revision has no tag: QP-07/A")


def test_a_released_blob_replaced_on_disk_is_named(instance, runner):
    store = services.store()
    blob = revision("QP-07", "B").blob_id
    loose = store.path / "objects" / blob[:2] / blob[2:]
    other = b"---\ncode: QP-07\n---\n\nNothing to see.\n"
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"blob %d\0" % len(other) + other))
    assert_named(runner, "git fsck finds damage", blob)


def test_a_deleted_signature_row_is_named(instance, runner):
    rev = revision("QP-07", "B")
    db.session.execute(
        text("DELETE FROM signature WHERE revision_id = :r AND meaning = 'approved'"),
        {"r": rev.id},
    )
    assert_named(runner, "a signature in the release commit has no signature row: QP-07/B")


def test_staff_made_approver_in_the_database_is_named(instance, runner, users):
    db.session.execute(
        text("INSERT INTO user_role (user_id, role) VALUES (:u, 'approver')"),
        {"u": users["staff"].id},
    )
    assert_named(runner, "a user holds other roles than the trail granted: staff")


# -- further evidence the trail covers ---------------------------------------------------------


def test_an_edited_record_version_is_named(instance, runner):
    db.session.execute(
        text('UPDATE record_version SET "values" = :v WHERE version = 1'),
        {"v": json.dumps({"title": "Changed"})},
    )
    assert_named(runner, "a record version differs from what the trail recorded")


def test_an_added_signature_row_is_named(instance, runner, users):
    rev = revision("QP-07", "B")
    db.session.add(
        Signature(
            revision_id=rev.id,
            user_id=users["approver2"].id,
            meaning="approved",
            blob_id=rev.blob_id,
            signed_at=rev.released_at,
        )
    )
    assert_named(runner, "a signature row is not in the release commit: QP-07/B")


def test_grants_and_signatures_are_trail_events(instance, users):
    actions = set(db.session.scalars(select(trail.AuditEvent.action)))
    assert {"user.created", "revision.signed.approved", "record.submitted"} <= actions
    assert {"record.amended"} <= actions


def test_a_rotated_key_keeps_what_the_old_key_signed_valid(instance, runner, users):
    old = signing.allowed_signers_path().read_text()
    result = runner.invoke(args=["qms", "rotate-signing-key"])
    assert result.exit_code == 0, result.output
    lines = signing.allowed_signers_path().read_text().splitlines()
    assert len(lines) == 2 and "valid-before" in lines[0] and old.split()[-2] in lines[0]
    assert "valid-after" in lines[1]
    effective(users, "QP-08")
    code, output = run_verify(runner)
    assert code == 0, output


# -- a clone, without the application -----------------------------------------------------------


def clone_and_verify(instance_repo: Path, tmp_path: Path, tamper=None, args=()) -> tuple[int, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    clone = tmp_path / "clone.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--mirror", str(instance_repo), str(clone)], check=True
    )
    script = tmp_path / "verify.py"
    script.write_text(git("show", "main:.qms/verify.py", repo=clone))
    if tamper:
        tamper(clone)
    # A bare interpreter: no application, no database, no configuration.
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(clone), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    return done.returncode, done.stdout + done.stderr


def test_a_plain_clone_verifies_without_the_application(instance, tmp_path):
    code, output = clone_and_verify(services.store().path, tmp_path)
    assert code == 0, output
    assert "trail anchor(s) checked" in output and "tag(s) checked" in output


def test_a_clone_checks_the_fingerprint_it_was_given(instance, tmp_path):
    real = signing.fingerprints()[0]
    code, output = clone_and_verify(
        services.store().path, tmp_path / "a", args=["--fingerprint", real]
    )
    assert code == 0, output
    wrong = "SHA256:" + "A" * 43
    code, output = clone_and_verify(
        services.store().path, tmp_path / "b", args=["--fingerprint", wrong]
    )
    assert code == 1 and wrong in output, output


def test_a_tag_replaced_in_a_clone_is_named(instance, tmp_path):
    rev_a = revision("QP-07", "A")

    def tamper(clone):
        git(
            "tag", "-f", "-a", "-m", "QP-07 revision B", "QP-07/B", rev_a.release_commit, repo=clone
        )

    code, output = clone_and_verify(services.store().path, tmp_path, tamper)
    assert code == 1, output
    assert "QP-07/B" in output and "tag" in output


def test_a_commit_forged_in_a_clone_is_named(instance, tmp_path):
    def tamper(clone):
        main = git("rev-parse", "main", repo=clone)
        env_commit = subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "-c",
                "user.name=X",
                "-c",
                "user.email=x@x",
                "commit-tree",
                f"{main}^{{tree}}",
                "-p",
                main,
                "-m",
                "Forged",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        git("update-ref", "refs/heads/main", env_commit, repo=clone)
        tamper.forged = env_commit

    code, output = clone_and_verify(services.store().path, tmp_path, tamper)
    assert code == 1, output
    assert f"an unsigned commit on main: {tamper.forged}" in output


def test_the_verify_command_checks_a_clone(instance, runner, tmp_path):
    clone = tmp_path / "c.git"
    shutil.rmtree(clone, ignore_errors=True)
    git("clone", "--quiet", "--mirror", str(services.store().path), str(clone), repo=tmp_path)
    result = runner.invoke(args=["qms", "verify", "--clone", str(clone)])
    assert result.exit_code == 0, result.output


def test_signers_replaced_in_a_clone_with_a_key_of_ones_own_are_named(instance, tmp_path):
    own = tmp_path / "own"
    signing.generate(own)

    def tamper(clone):
        main = git("rev-parse", "main", repo=clone)
        blob = subprocess.run(
            ["git", "-C", str(clone), "hash-object", "-w", "--stdin"],
            input=signing.allowed_signers_path(own).read_text(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        index = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "index")}
        subprocess.run(["git", "-C", str(clone), "read-tree", main], env=index, check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "update-index",
                "--cacheinfo",
                f"100644,{blob},.qms/allowed_signers",
            ],
            env=index,
            check=True,
        )
        tree = subprocess.run(
            ["git", "-C", str(clone), "write-tree"],
            env=index,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        forged = subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "-c",
                "user.name=X",
                "-c",
                "user.email=x@x",
                "-c",
                "gpg.format=ssh",
                "-c",
                f"user.signingkey={signing.key_path(own)}",
                "commit-tree",
                "-S",
                tree,
                "-p",
                main,
                "-m",
                "New signers",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        git("update-ref", "refs/heads/main", forged, repo=clone)
        tamper.forged = forged

    code, output = clone_and_verify(services.store().path, tmp_path, tamper)
    assert code == 1, output
    assert f"changed by a commit no earlier signer signed: {tamper.forged}" in output


def test_the_trail_is_anchored_once_per_head(instance):
    assert anchors.anchor() is not None  # the record's events came after the last release
    assert anchors.anchor() is None  # nothing new since: no second anchor
    latest = anchors.anchors()[-1]
    assert latest.seq == db.session.get(trail.TrailHead, 1).seq


def test_a_commit_signed_with_a_retired_key_after_its_rotation_is_named(instance, runner, tmp_path):
    result = runner.invoke(args=["qms", "rotate-signing-key"])
    assert result.exit_code == 0, result.output
    retired = next(p for p in (signing.directory() / "retired").iterdir() if p.suffix != ".pub")

    def tamper(clone):
        main = git("rev-parse", "main", repo=clone)
        later = {**os.environ, "GIT_COMMITTER_DATE": "2090-01-01T00:00:00Z"}
        forged = subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "-c",
                "user.name=X",
                "-c",
                "user.email=x@x",
                "-c",
                "gpg.format=ssh",
                "-c",
                f"user.signingkey={retired}",
                "commit-tree",
                "-S",
                f"{main}^{{tree}}",
                "-p",
                main,
                "-m",
                "Late",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=later,
        ).stdout.strip()
        git("update-ref", "refs/heads/main", forged, repo=clone)
        tamper.forged = forged

    code, output = clone_and_verify(services.store().path, tmp_path, tamper)
    assert code == 1, output
    assert tamper.forged in output


def test_the_hourly_job_anchors_the_trail(instance):
    from qms import jobs

    before = len(anchors.anchors())
    jobs.run_now("trail_anchor")
    db.session.expire_all()
    uow.close_store()
    assert len(anchors.anchors()) == before + 1
    assert anchors.anchors()[-1].seq == db.session.get(trail.TrailHead, 1).seq


def test_a_restored_backup_verifies_clean_and_signs_on_with_the_same_key(instance, app, tmp_path):
    """The backup carries the signing key: the restored history and what follows verify."""
    from qms.auth.models import User
    from qms.transfer import backup
    from tests.test_transfer_backup import fresh_instance

    file = tmp_path / "backup.zip"
    manifest = backup.backup(file)
    assert manifest["signing"] == ["allowed_signers", "key", "key.pub"]
    source_key = signing.key_path().read_bytes()
    target = fresh_instance(tmp_path)
    with target.test_request_context():
        signing.ensure_key()  # what `qms init` made: a key that has signed nothing
        backup.restore(file)
        assert signing.key_path().read_bytes() == source_key
        from qms.verify import verify

        assert verify() == []
        target_users = {u.username: u for u in db.session.scalars(db.select(User))}
        services.save_draft(
            target_users["author"],
            services.get_document("QP-07"),
            content("QP-07", body="# C\n\nAfter the restore.\n"),
            "C",
        )
        doc = services.get_document("QP-07")
        services.submit(target_users["author"], doc)
        services.approve(target_users["approver"], doc, PASSWORD)
        services.release(target_users["approver"], doc)
        db.session.commit()
        uow.close_store()
        assert verify() == []
        db.session.remove()
        db.engine.dispose()

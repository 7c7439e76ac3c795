"""``qms verify``: prove from git and the trail that the evidence was not changed afterwards.

``qms check`` asks whether the database and git agree, to mend what a crash left. This
asks whether anyone changed either behind the application's back: the repository is
checked as an auditor's clone would be (:mod:`qms.clone_verify`: ``git fsck``, the
signatures of main and of every tag, each tag's ``Content-Blob``, the anchors' line),
and then against the database: each released revision's tag and signed blob, the
signature rows against the release trailers both ways, the trail's chain against every
anchor in git, each user's roles against what the trail's grant events add up to, and
each record version against the values the trail recorded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from qms import anchors, signing, trail, uow
from qms.clone_verify import Problem, verify_repository
from qms.documents.consistency import RELEASED
from qms.documents.consistency import check as consistency_check
from qms.documents.models import Document, Revision, Signature
from qms.extensions import db
from qms.gitstore import MAIN

#: Signature meanings a release commit names in a ``<Meaning>-by`` trailer.
RELEASE_MEANINGS = ("reviewed", "approved", "verified")
#: Trail events that set a user's roles, with the roles in ``after["roles"]``.
GRANT_EVENTS = ("user.created", "user.roles_changed")


def verify() -> list[Problem]:
    """Return every problem found; empty when the evidence is intact."""
    gitstore = uow.store()
    allowed = signing.allowed_signers_path()
    problems, _notes = verify_repository(
        str(gitstore.path), str(allowed) if allowed.exists() else None
    )
    problems += _allowed_signers_on_main(gitstore, allowed)
    problems += [Problem("the database and git differ", f.message) for f in consistency_check()]
    problems += _released_revisions(gitstore)
    problems += _signatures(gitstore)
    problems += _trail_anchors()
    problems += _roles()
    problems += _record_versions()
    return problems


def _allowed_signers_on_main(gitstore, allowed: Path) -> list[Problem]:
    if not allowed.exists():
        return [Problem("the installation has no signing key", str(signing.key_path()))]
    main = gitstore.head(MAIN)
    on_main = gitstore.read(main, signing.ALLOWED_SIGNERS) if main else None
    if on_main is not None and on_main != allowed.read_bytes():
        return [
            Problem(
                "main's allowed signers differ from the installation's",
                signing.ALLOWED_SIGNERS,
                gitstore.commit_info(main).authored_at.isoformat(),
            )
        ]
    return []


def _released(gitstore):
    rows = db.session.execute(
        select(Revision, Document)
        .join(Document, Revision.document_id == Document.id)
        .where(Revision.status.in_(RELEASED), Revision.release_commit.is_not(None))
        .order_by(Document.code, Revision.label)
    )
    return list(rows)


def _released_revisions(gitstore) -> list[Problem]:
    """Every released revision has its tag on its release commit, holding its signed blob."""
    problems = []
    tags = gitstore.refs("refs/tags/")
    for rev, doc in _released(gitstore):
        name = f"{doc.code}/{rev.label}"
        since = rev.released_at.isoformat() if rev.released_at else ""
        tagged = tags.get(f"refs/tags/{name}")
        if tagged is None:
            problems.append(Problem("a released revision has no tag", name, since))
        elif tagged != rev.release_commit:
            problems.append(
                Problem(
                    "a released revision's tag names another commit",
                    f"{name}: tag {tagged[:10]}, release {rev.release_commit[:10]}",
                    since,
                )
            )
        if not gitstore.has_object(rev.release_commit):
            problems.append(Problem("a release commit is missing", name, since))
            continue
        blob = gitstore.blob_id(rev.release_commit, doc.path)
        if blob != rev.blob_id:
            problems.append(
                Problem(
                    "a release commit does not hold the signed content",
                    f"{name}: {doc.path} is {(blob or 'absent')[:10]}, signed "
                    f"{(rev.blob_id or '?')[:10]}",
                    since,
                )
            )
    return problems


def _signatures(gitstore) -> list[Problem]:
    """Each approval signature row is named by its release commit, and each trailer by a row."""
    problems = []
    signatures: dict[int, list[Signature]] = {}
    for sig in db.session.scalars(select(Signature).where(Signature.meaning.in_(RELEASE_MEANINGS))):
        signatures.setdefault(sig.revision_id, []).append(sig)
    keys = {f"{m.capitalize()}-by": m for m in RELEASE_MEANINGS}
    for rev, doc in _released(gitstore):
        if not gitstore.has_object(rev.release_commit):
            continue
        info = gitstore.commit_info(rev.release_commit)
        if info.trailer("Revision") != rev.label or info.trailer("Imported-by"):
            continue  # an import batch carries no approvals
        name = f"{doc.code}/{rev.label}"
        in_git = sorted(
            (keys[key], value)
            for key, values in info.trailers.items()
            if key in keys
            for value in values
        )
        rows = sorted(
            (
                sig.meaning,
                f"{sig.user.display_name} <{_email(sig.user)}> "
                f"{sig.signed_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            )
            for sig in signatures.get(rev.id, [])
            if rev.released_at is None or sig.signed_at <= rev.released_at
        )
        for meaning, value in sorted(set(in_git) - set(rows)):
            problems.append(
                Problem(
                    "a signature in the release commit has no signature row",
                    f"{name}: {meaning} by {value}",
                    value.rsplit(" ", 1)[-1],
                )
            )
        for meaning, value in sorted(set(rows) - set(in_git)):
            problems.append(
                Problem(
                    "a signature row is not in the release commit",
                    f"{name}: {meaning} by {value}",
                    value.rsplit(" ", 1)[-1],
                )
            )
        for sig in signatures.get(rev.id, []):
            if sig.blob_id != rev.blob_id:
                problems.append(
                    Problem(
                        "a signature names other content than the revision",
                        f"{name}: {sig.meaning} by {sig.user.username}",
                        sig.signed_at.isoformat(),
                    )
                )
    return problems


def _email(user) -> str:
    from qms.documents.register import person

    return person(user).email


def _trail_anchors() -> list[Problem]:
    """Every anchor in git names an event the trail still has, with the same hash."""
    problems = []
    events = dict(db.session.execute(select(trail.AuditEvent.seq, trail.AuditEvent.hash)).all())
    newest = max(events, default=0)
    for anchor in anchors.anchors():
        if anchor.seq not in events:
            what = (
                "the trail ends before an anchored event: its newest events were removed"
                if anchor.seq > newest
                else "an anchored trail event is missing"
            )
            problems.append(Problem(what, f"event {anchor.seq}", anchor.at))
        elif events[anchor.seq] != anchor.hash:
            problems.append(
                Problem(
                    "the trail differs from its anchor in git: it was rewritten",
                    f"event {anchor.seq}",
                    anchor.at,
                )
            )
    return problems


def _roles() -> list[Problem]:
    """Each user holds exactly the roles the trail's grant events gave them last."""
    from qms.auth.models import User

    granted: dict[str, tuple[list[str], str]] = {}
    for event in db.session.scalars(
        select(trail.AuditEvent)
        .where(trail.AuditEvent.action.in_(GRANT_EVENTS), trail.AuditEvent.object_type == "user")
        .order_by(trail.AuditEvent.seq)
    ):
        roles = (event.after or {}).get("roles")
        if roles is not None:
            granted[event.object_key] = (sorted(roles), event.at.isoformat())
    problems = []
    for user in db.session.scalars(select(User).order_by(User.username)):
        held = sorted(user.roles)
        roles, since = granted.get(user.username, ([], ""))
        if held != roles:
            problems.append(
                Problem(
                    "a user holds other roles than the trail granted",
                    f"{user.username}: holds {', '.join(held) or 'none'}, granted "
                    f"{', '.join(roles) or 'none'}",
                    since,
                )
            )
    return problems


def values_hash(values) -> str:
    """Return the hash of a record's values as the trail stores them."""
    payload = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _record_versions() -> list[Problem]:
    """Each record version holds the values the trail recorded for it."""
    from qms.records.models import Record, RecordVersion

    recorded: dict[tuple[str, int], tuple[str, str]] = {}
    for event in db.session.scalars(
        select(trail.AuditEvent)
        .where(
            trail.AuditEvent.object_type == "record",
            trail.AuditEvent.action.in_(("record.submitted", "record.amended")),
        )
        .order_by(trail.AuditEvent.seq)
    ):
        after = event.after or {}
        version = int(after.get("version") or 1)
        recorded[(event.object_key, version)] = (
            values_hash(after.get("values")),
            event.at.isoformat(),
        )
    problems = []
    rows = db.session.execute(
        select(RecordVersion, Record.number)
        .join(Record, RecordVersion.record_id == Record.id)
        .order_by(Record.number, RecordVersion.version)
    )
    for version, number in rows:
        key = (number, version.version)
        since = version.created_at.isoformat() if version.created_at else ""
        if key not in recorded:
            problems.append(
                Problem("a record version the trail never recorded", f"{number} v{key[1]}", since)
            )
        elif values_hash(version.values) != recorded[key][0]:
            problems.append(
                Problem(
                    "a record version differs from what the trail recorded",
                    f"{number} v{key[1]}",
                    since,
                )
            )
    return problems

"""Compare the database with the document repository; mend only what the unit of work can.

The unit of work (:mod:`qms.uow`) moves refs and commits the database together, so git
and the database can differ only where a process died between publishing its refs and
committing. The database never heard of such a move and its client was never told it
succeeded, so mending means putting the ref back where the database acknowledged it
(:func:`qms.uow.recover`), never adopting what git holds. Everything else that differs
was done behind the application's back and is reported for a person to judge.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from qms import trail, uow
from qms.documents.models import Document, Revision
from qms.extensions import db
from qms.gitstore import MAIN, CommitInfo, GitStore, draft_ref, tag_name

OPEN = ("draft", "in_review", "approved", "scheduled")
RELEASED = ("effective", "superseded", "obsolete")


@dataclass
class Finding:
    """One difference between the database and git; ``repaired`` once it was mended."""

    message: str
    repaired: bool = False


def check(repair: bool = False) -> list[Finding]:
    """Return every difference between the database and git.

    With ``repair``, first put every ref git holds but the database never acknowledged
    back where it was acknowledged, and report each as repaired.
    """
    findings: list[Finding] = []
    if repair:
        for ref, known, actual in uow.recover():
            findings.append(
                Finding(f"{ref}: put back at {_short(known)} from {_short(actual)}", repaired=True)
            )
    gitstore = uow.store()
    for ref, known, actual in uow.pending_recovery():
        findings.append(
            Finding(
                f"{ref}: git holds {_short(actual)} but the database acknowledged {_short(known)}"
            )
        )
    docs = {d.code: d for d in db.session.scalars(select(Document))}
    # Keyed by (code, label), read in one query: an installation has thousands.
    revisions = {
        (code, rev.label): rev
        for rev, code in db.session.execute(
            select(Revision, Document.code).join(Document, Revision.document_id == Document.id)
        )
    }
    tags = gitstore.refs("refs/tags/")
    main_log = gitstore.log(MAIN)
    findings += _releases_on_main(main_log, tags, revisions)
    findings += _tags(tags, docs, revisions)
    findings += _drafts(gitstore, revisions)
    findings += _main_files(gitstore, docs, revisions, main_log)
    findings += [Finding(f"audit trail: {problem}") for problem in trail.verify()]
    return findings


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "nothing"


def _released_by(commit: CommitInfo, recorded: dict) -> list[tuple[str, str]]:
    """Return the ``(code, label)`` pairs a commit on main releases (none for other commits).

    A release names its document and revision; an import batch names every document it
    brings, each as the revision the database recorded for that commit (``recorded``:
    release commit -> code -> label).
    """
    if commit.trailer("Obsolete") == "yes":
        return []
    codes = commit.trailers.get("Document") or []
    label = commit.trailer("Revision")
    if label and len(codes) == 1:
        return [(codes[0], label)]
    if commit.trailer("Imported-by"):
        labels = recorded.get(commit.sha, {})
        return [(code, labels.get(code, "?")) for code in codes]
    return []


def _releases_on_main(main_log: list[CommitInfo], tags: dict, revisions: dict) -> list[Finding]:
    """Find releases by main's first-parent history, so that an untagged one cannot hide."""
    findings = []
    recorded: dict[str, dict[str, str]] = {}
    for (code, label), rev in revisions.items():
        if rev.release_commit:
            recorded.setdefault(rev.release_commit, {})[code] = label
    on_main = set()
    for commit in main_log:
        on_main.add(commit.sha)
        for code, label in _released_by(commit, recorded):
            name = f"{code}/{label}"
            tagged = tags.get(f"refs/tags/{tag_name(code, label)}")
            if tagged is None:
                findings.append(
                    Finding(f"{name} was released on main ({commit.sha[:10]}) untagged")
                )
            elif tagged != commit.sha:
                findings.append(
                    Finding(
                        f"{name}: the tag names {tagged[:10]}, the release on main "
                        f"{commit.sha[:10]}"
                    )
                )
            rev = revisions.get((code, label))
            if rev is None:
                findings.append(
                    Finding(f"{name} was released on main ({commit.sha[:10]}) but is unknown")
                )
            elif rev.status not in RELEASED or rev.release_commit != commit.sha:
                findings.append(
                    Finding(
                        f"{name} was released on main ({commit.sha[:10]}) but the database "
                        f"has it {rev.status}, released by {_short(rev.release_commit)}"
                    )
                )
    for (code, label), rev in sorted(revisions.items()):
        if rev.release_commit and rev.release_commit not in on_main:
            findings.append(
                Finding(
                    f"{code}/{label}: the database names release commit "
                    f"{rev.release_commit[:10]}, which is not in main's history"
                )
            )
    return findings


def _tags(tags: dict, docs: dict, revisions: dict) -> list[Finding]:
    """Every tag marks a revision the database has as released by the tagged commit."""
    findings = []
    for ref, commit in sorted(tags.items()):
        # The tag's name says which revision it is (an import commit releases many).
        code, _sep, label = ref.removeprefix("refs/tags/").rpartition("/")
        if code not in docs:
            findings.append(Finding(f"{ref}: document {code} is not in the register"))
            continue
        rev = revisions.get((code, label))
        if rev is None:
            findings.append(Finding(f"{ref}: revision {code}/{label} is not in the database"))
        elif rev.release_commit != commit:
            findings.append(
                Finding(
                    f"{code}/{label}: the database names release commit "
                    f"{_short(rev.release_commit)}, the tag {commit[:10]}"
                )
            )
    return findings


def _drafts(gitstore: GitStore, revisions: dict) -> list[Finding]:
    """Every open revision has its branch at the latest save, and every branch a revision."""
    findings = []
    branches = gitstore.refs("refs/heads/drafts/")
    known = set()
    for (code, label), rev in sorted(revisions.items()):
        if rev.status not in OPEN or rev.head_commit is None:
            continue
        ref = draft_ref(code, label)
        known.add(ref)
        head = branches.get(ref)
        if head is None:
            findings.append(Finding(f"{code}/{label}: the draft branch is missing"))
        elif head != rev.head_commit:
            findings.append(
                Finding(
                    f"{code}/{label}: the draft branch is at {head[:10]}, "
                    f"the database at {_short(rev.head_commit)}"
                )
            )
    for ref in sorted(set(branches) - known):
        findings.append(Finding(f"{ref}: a draft branch the database does not know"))
    return findings


def _main_files(
    gitstore: GitStore, docs: dict, revisions: dict, main_log: list[CommitInfo]
) -> list[Finding]:
    """Main holds exactly the effective documents, at their signed content."""
    findings = []
    files = gitstore.files(main_log[0].sha) if main_log else {}
    effective = {
        code: rev for (code, _label), rev in revisions.items() if rev.status == "effective"
    }
    for doc in docs.values():
        if doc.status != "effective":
            if doc.path in files and doc.status == "obsolete":
                findings.append(Finding(f"{doc.code} is obsolete but still on main"))
            continue
        blob = files.get(doc.path)
        rev = effective.get(doc.code)
        if blob is None:
            findings.append(Finding(f"{doc.code} is effective in the database but not on main"))
        elif rev is not None and blob != rev.blob_id:
            findings.append(
                Finding(
                    f"{doc.code}: main holds other content than the signed revision {rev.label}"
                )
            )
    registered = {d.path for d in docs.values()}
    for path in sorted(set(files) - registered):
        if path.startswith(".qms/"):
            continue  # the allowed signers and the verifier (qms.signing)
        # procedures/QP-07.md owns the folder procedures/QP-07/ (its images, its original).
        if path.count("/") > 1 and "/".join(path.split("/")[:2]) + ".md" in registered:
            continue
        findings.append(Finding(f"{path} is on main but not in the register"))
    return findings

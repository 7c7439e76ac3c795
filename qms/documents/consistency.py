"""Compare the database with the document repository and repair what git can prove.

Every service writes git before the database, so after a crash git may be ahead:
a release tagged but not recorded, a draft saved but its head not stored, a draft
opened without its row, a document obsoleted on main but still effective in the
register. Those are repaired from the commit trailers. Anything else is reported.
"""

from dataclasses import dataclass

from sqlalchemy import or_, select

from qms import trail
from qms.auth.models import User
from qms.documents import services
from qms.documents.models import Document, Revision
from qms.extensions import db
from qms.gitstore import MAIN


@dataclass
class Finding:
    message: str
    repaired: bool = False


def _user_for(author: str) -> User | None:
    """Find the user a git identity ``Name <email>`` stands for."""
    email = author.rsplit("<", 1)[-1].rstrip(">").strip()
    username = email.split("@", 1)[0]
    return db.session.scalar(
        select(User).where(or_(User.email == email, User.username == username))
    )


def check(repair: bool = False) -> list[Finding]:
    """Return every difference between the database and git, repairing where proven."""
    findings: list[Finding] = []
    gitstore = services.store()
    tags = gitstore.refs("refs/tags/")
    drafts = gitstore.refs("refs/heads/drafts/")
    docs = {d.code: d for d in db.session.scalars(select(Document))}

    # Released revisions: a tag is git's proof of a release.
    for ref, commit in sorted(tags.items()):
        info = gitstore.commit_info(commit)
        # The tag's name says which revision it is: an import batch is one commit that
        # releases many documents, so its trailers name them all.
        code, label = ref.removeprefix("refs/tags/").rsplit("/", 1)
        doc = docs.get(code)
        if doc is None:
            findings.append(Finding(f"{ref}: document {code} is not in the register"))
            continue
        rev = db.session.scalar(
            select(Revision).where(Revision.document_id == doc.id, Revision.label == label)
        )
        if rev is None:
            findings.append(Finding(f"{ref}: revision {code}/{label} is not in the database"))
        elif rev.status in ("approved", "scheduled") and rev.blob_id == info.trailer(
            "Content-Blob"
        ):
            finding = Finding(
                f"{code}/{label} was released in git ({commit[:10]}) "
                "but is not effective in the database"
            )
            if repair:
                if rev.effective_date is None:
                    rev.effective_date = services.date.fromisoformat(info.trailer("Effective-Date"))
                services._apply_effective(rev, services.effective_revision(doc), commit)
                gitstore.delete_ref(f"refs/heads/drafts/{code}/{label}")
                trail.record(
                    "check.repaired",
                    "revision",
                    f"{code}/{label}",
                    after={"release_commit": commit},
                )
                finding.repaired = True
            findings.append(finding)
        elif rev.status in ("effective", "superseded", "obsolete") and rev.release_commit != commit:
            finding = Finding(
                f"{code}/{label}: the database names release commit "
                f"{(rev.release_commit or 'none')[:10]}, the tag {commit[:10]}"
            )
            if repair:
                rev.release_commit = commit
                finding.repaired = True
            findings.append(finding)

    # Open drafts: the branch head is the latest save.
    open_revs = db.session.scalars(
        select(Revision).where(Revision.status.in_(("draft", "in_review", "approved", "scheduled")))
    ).all()
    known = set()
    for rev in open_revs:
        ref = f"refs/heads/drafts/{rev.document.code}/{rev.label}"
        known.add(ref)
        head = drafts.get(ref)
        if head is None:
            findings.append(
                Finding(f"{rev.document.code}/{rev.label}: the draft branch is missing")
            )
        elif head != rev.head_commit:
            ancestors = {c.sha for c in gitstore.log(head, first_parent=True)}
            finding = Finding(
                f"{rev.document.code}/{rev.label}: the draft branch is at "
                f"{head[:10]}, the database at {(rev.head_commit or 'none')[:10]}"
            )
            if repair and rev.status == "draft" and rev.head_commit in ancestors:
                rev.head_commit = head
                finding.repaired = True
            findings.append(finding)
    for ref, head in sorted(drafts.items()):
        if ref in known:
            continue
        code, label = ref.removeprefix("refs/heads/drafts/").rsplit("/", 1)
        doc = docs.get(code)
        finding = Finding(f"{ref}: a draft branch the database does not know")
        exists = doc is not None and db.session.scalar(
            select(Revision.id).where(Revision.document_id == doc.id, Revision.label == label)
        )
        if repair and doc is not None and not exists and services.open_revision(doc) is None:
            info = gitstore.commit_info(head)
            author = _user_for(info.author)
            if author is not None:
                db.session.add(
                    Revision(document=doc, label=label, author_id=author.id, head_commit=head)
                )
                trail.record("check.repaired", "revision", f"{code}/{label}", after={"head": head})
                finding.repaired = True
        findings.append(finding)

    # Main holds exactly the effective documents, at their signed content.
    main = gitstore.head(MAIN)
    files = gitstore.files(main)
    last_on_main: dict[str, object] = {}  # code -> newest main commit naming it, read once
    for doc in docs.values():
        if doc.status != "effective":
            if doc.path in files and doc.status == "obsolete":
                findings.append(Finding(f"{doc.code} is obsolete but still on main"))
            continue
        rev = services.effective_revision(doc)
        blob = files.get(doc.path)
        if blob is None:
            finding = Finding(f"{doc.code} is effective in the database but not on main")
            if not last_on_main:
                for commit in reversed(gitstore.log(MAIN)):
                    last_on_main[commit.trailer("Document")] = commit
            last = last_on_main.get(doc.code)
            if repair and last is not None and last.trailer("Obsolete") == "yes":
                body = last.message.split("\n\n")
                doc.status = "obsolete"
                doc.obsolete_reason = body[1] if len(body) > 2 else ""
                rev.status = "obsolete"
                trail.record("check.repaired", "document", doc.code, after={"status": "obsolete"})
                finding.repaired = True
            findings.append(finding)
        elif rev is not None and blob != rev.blob_id:
            findings.append(
                Finding(
                    f"{doc.code}: main holds other content than the signed revision {rev.label}"
                )
            )
    registered = {d.path for d in docs.values()}
    for path in sorted(set(files) - registered):
        # procedures/QP-07.md owns the folder procedures/QP-07/ (its images, its original).
        if path.count("/") > 1 and "/".join(path.split("/")[:2]) + ".md" in registered:
            continue
        findings.append(Finding(f"{path} is on main but not in the register"))

    for problem in trail.verify():
        findings.append(Finding(f"audit trail: {problem}"))
    if repair:
        db.session.commit()
    return findings

"""Subscribing to upstream repositories, adopting their documents, following their changes.

An upstream is another QMS tracker's document repository: ``main`` holds its effective
documents and each released revision is a tag ``<code>/<revision>`` whose commit carries
trailers (``Document``, ``Revision``, ``Title``, ``Type``, ``Content-Blob``…). It is fetched
into ``refs/upstream/<name>/`` of the local repository, so its blobs can be read and
adopted without a second copy.

Adopting never releases anything by itself: the upstream text becomes a local *draft*
with its provenance, which then goes through the local review and signed approval like
any other revision. An approver signs for what the organisation works to, even when a
province wrote it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from qms import render, trail, uow
from qms.adoption.models import Adoption, Subscription, UpstreamChange
from qms.auth.models import User
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import GitStoreError, fetch_upstream, upstream_ref, upstream_tags
from qms.models import utcnow
from qms.uow import transactional

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
URL_RE = re.compile(r"^(?:https?|ssh|git|file)://\S+$|^[\w.-]+@[\w.-]+:\S+$")
TAG_RE = re.compile(r"^(?P<code>[A-Za-z0-9][A-Za-z0-9.-]*)/(?P<rev>[A-Z]{1,4})$")
FOLLOWING_ROLES = ("admin",)


# -- who may do what -------------------------------------------------------------------


def can_follow(user: User, sub: Subscription | None = None) -> bool:
    """Whether ``user`` may subscribe to upstreams, fetch, sync, end and resume them."""
    return user.has_role(*FOLLOWING_ROLES)


def can_adopt(user: User, sub: Subscription | None = None) -> bool:
    """Whether ``user`` may copy upstream revisions into local drafts: whoever authors."""
    return documents.can_author(user)


def can_take_in(user: User, change: UpstreamChange | None = None) -> bool:
    """Whether ``user`` may open a draft from an accepted upstream change."""
    return documents.can_author(user)


def can_view(user: User, sub: Subscription | None = None) -> bool:
    """Whether ``user`` may see the upstreams and what they offer."""
    return can_follow(user, sub) or can_adopt(user, sub)


#: Every rule by name, for the templates (``adoption_rules.can_follow(current_user)``).
RULES = {fn.__name__: fn for fn in (can_follow, can_adopt, can_take_in, can_view)}


def _require(allowed: bool, *roles: str) -> None:
    if not allowed:
        raise PermissionDenied(_("This needs the role: %(roles)s.", roles=", ".join(roles)))


def _require_follower(actor: User) -> None:
    _require(can_follow(actor), *FOLLOWING_ROLES)


def _require_author(actor: User) -> None:
    _require(can_adopt(actor), *documents.AUTHORING_ROLES)


def revision_order(label: str) -> tuple[int, str]:
    """Sort key of revision labels: A < B < … < Z < AA."""
    return (len(label), label)


# -- subscriptions ---------------------------------------------------------------------


def recent_changes(limit: int = 20) -> list[UpstreamChange]:
    """Return the newest upstream changes put to the approver, newest first."""
    return list(
        db.session.scalars(select(UpstreamChange).order_by(UpstreamChange.id.desc()).limit(limit))
    )


def get_change(change_id: int) -> UpstreamChange:
    change = db.session.get(UpstreamChange, change_id)
    if change is None:
        raise NotFound(_("There is no such upstream change."))
    return change


def subscriptions() -> list[Subscription]:
    return list(db.session.scalars(select(Subscription).order_by(Subscription.name)))


def get_subscription(name: str) -> Subscription:
    sub = db.session.scalar(select(Subscription).where(Subscription.name == name))
    if sub is None:
        raise NotFound(_("There is no upstream %(name)s.", name=name))
    return sub


def validate_url(url: str) -> str:
    """Accept a git URL or the path of a repository on this machine; never an option."""
    url = (url or "").strip()
    if not url:
        raise ValidationFailed(_("Give the repository's URL or path."), field="url")
    if len(url) > 500 or url.startswith("-") or any(c.isspace() for c in url):
        raise ValidationFailed(_("This is not a repository URL or path."), field="url")
    if URL_RE.match(url):
        return url
    if os.path.isabs(url) and os.path.isdir(url):
        return url
    raise ValidationFailed(
        _(
            "Use an https://, ssh://, git:// or file:// URL, or the absolute path of a "
            "repository on this server."
        ),
        field="url",
    )


@transactional
def subscribe(actor: User, name: str, url: str) -> Subscription:
    """Follow an upstream repository; it is fetched at once so a wrong URL shows now.

    A refused subscription leaves nothing fetched behind, so the name can be used again.
    """
    _require_follower(actor)
    name = (name or "").strip().lower()
    if not NAME_RE.match(name):
        raise ValidationFailed(
            _("A short name of lower-case letters, digits and dashes, e.g. province-std."),
            field="name",
        )
    url = validate_url(url)
    if db.session.scalar(select(Subscription.id).where(Subscription.name == name)):
        raise Conflict(_("There is already an upstream named %(name)s.", name=name), field="name")
    uow.after_rollback(lambda: _forget_fetched(name))
    try:
        commit = fetch_upstream(documents.store(), name, url)
    except GitStoreError as exc:
        raise ValidationFailed(
            _("The repository could not be fetched: %(error)s", error=str(exc)[:300]), field="url"
        ) from exc
    if commit is None:
        raise ValidationFailed(_("That repository has no main branch."), field="url")
    sub = Subscription(
        name=name, url=url, created_by_id=actor.id, fetched_at=utcnow(), fetched_commit=commit
    )
    db.session.add(sub)
    trail.record("upstream.subscribed", "upstream", name, after={"url": url}, user=actor)
    return sub


def _forget_fetched(name: str) -> None:
    """Delete what a refused subscription fetched under ``refs/upstream/<name>/``."""
    if db.session.scalar(select(Subscription.id).where(Subscription.name == name)):
        return  # subscribed by another request meanwhile: those refs are its own
    gitstore = documents.store()
    refs = gitstore.refs(upstream_ref(name, ""))
    if refs:
        # Fetched refs are no document refs: the unit of work does not manage them.
        gitstore.publish_refs([(ref, None, value) for ref, value in refs.items()])


def _require_active(sub: Subscription) -> None:
    if not sub.active:
        raise Conflict(
            _("%(name)s is no longer followed; an administrator can resume it.", name=sub.name)
        )


@transactional
def end(actor: User, sub: Subscription) -> None:
    """Stop following an upstream; what was adopted from it keeps its provenance."""
    _require_follower(actor)
    _require_active(sub)
    sub.ended_at = utcnow()
    trail.record("upstream.ended", "upstream", sub.name, before={"url": sub.url}, user=actor)


@transactional
def resume(actor: User, sub: Subscription) -> None:
    """Follow an ended upstream again."""
    _require_follower(actor)
    if sub.active:
        raise Conflict(_("%(name)s is followed already.", name=sub.name))
    sub.ended_at = None
    trail.record("upstream.resumed", "upstream", sub.name, after={"url": sub.url}, user=actor)


@transactional
def fetch(actor: User | None, sub: Subscription) -> bool:
    """Fetch the upstream now; remember the outcome (a failure is shown, not raised).

    ``actor`` None is the scheduled sync. The fetch moves only ``refs/upstream/<name>/``,
    a copy of the upstream that no unit of work publishes or puts back.
    """
    if actor is not None:
        _require_follower(actor)
    _require_active(sub)
    try:
        sub.fetched_commit = fetch_upstream(documents.store(), sub.name, sub.url)
    except GitStoreError as exc:
        sub.last_error = str(exc)[:2000]
        return False
    sub.fetched_at = utcnow()
    sub.last_error = None
    return True


# -- what upstream offers --------------------------------------------------------------


@dataclass
class UpstreamRevision:
    code: str
    label: str
    title: str
    doc_type: str
    commit: str
    blob: str
    effective_date: str | None


@dataclass
class UpstreamDocument:
    code: str
    revisions: list[UpstreamRevision] = field(default_factory=list)
    adopted_as: list[str] = field(default_factory=list)

    @property
    def latest(self) -> UpstreamRevision:
        return self.revisions[-1]


def _revision_from_tag(sub: Subscription, tag: str, commit: str) -> UpstreamRevision | None:
    match = TAG_RE.match(tag)
    if not match:
        return None
    gitstore = documents.store()
    info = gitstore.commit_info(commit)
    code, label = match["code"], match["rev"]
    if info.trailer("Document") not in (None, code):
        return None
    blob = info.trailer("Content-Blob")
    if not blob or not gitstore.has_object(blob):
        # Older or hand-made releases: find the file by its name in the tagged tree.
        blob = next(
            (b for p, b in gitstore.files(commit).items() if p.rsplit("/", 1)[-1] == f"{code}.md"),
            None,
        )
    if blob is None:
        return None
    return UpstreamRevision(
        code=code,
        label=label,
        title=info.trailer("Title") or code,
        doc_type=info.trailer("Type") or "",
        commit=commit,
        blob=blob,
        effective_date=info.trailer("Effective-Date"),
    )


def upstream_documents(sub: Subscription) -> list[UpstreamDocument]:
    """Return the upstream's released documents, each with its revisions, oldest first."""
    docs: dict[str, UpstreamDocument] = {}
    for tag, commit in upstream_tags(documents.store(), sub.name).items():
        rev = _revision_from_tag(sub, tag, commit)
        if rev is not None:
            docs.setdefault(rev.code, UpstreamDocument(rev.code)).revisions.append(rev)
    for doc in docs.values():
        doc.revisions.sort(key=lambda r: revision_order(r.label))
    adopted = db.session.execute(
        select(Adoption.upstream_code, Adoption.document_code)
        .where(Adoption.subscription_id == sub.id)
        .distinct()
    ).all()
    for upstream_code, local_code in adopted:
        if upstream_code in docs and local_code not in docs[upstream_code].adopted_as:
            docs[upstream_code].adopted_as.append(local_code)
    return [docs[code] for code in sorted(docs)]


def upstream_revision(sub: Subscription, code: str, label: str) -> UpstreamRevision:
    commit = upstream_tags(documents.store(), sub.name).get(f"{code}/{label}")
    rev = _revision_from_tag(sub, f"{code}/{label}", commit) if commit else None
    if rev is None:
        raise NotFound(
            _("%(name)s has no revision %(rev)s of %(code)s.", name=sub.name, rev=label, code=code)
        )
    return rev


def upstream_text(blob: str) -> str:
    return documents.store().read_blob(blob).decode("utf-8")


def localise(content: str, code: str) -> str:
    """Return upstream text with its front matter naming the local ``code``; else unchanged."""
    match = re.match(r"^---\n(.*?\n)---\n", content, re.S)
    if not match:
        return content
    front = match.group(1)
    if re.search(r"(?m)^code:", front):
        front = re.sub(r"(?m)^code:.*$", f"code: {code}", front, count=1)
    else:
        front = f"code: {code}\n" + front
    return f"---\n{front}---\n" + content[match.end() :]


def _trailers(sub: Subscription, rev: UpstreamRevision) -> list[tuple[str, str]]:
    return [
        ("Upstream-Repository", sub.url),
        ("Upstream-Revision", f"{rev.code}/{rev.label}"),
        ("Upstream-Commit", rev.commit),
    ]


# -- adopting --------------------------------------------------------------------------


@transactional
def adopt(
    actor: User,
    sub: Subscription,
    code: str,
    label: str,
    local_code: str | None = None,
    into: str | None = None,
    parent: str | None = None,
    department: str | None = None,
):
    """Copy an upstream revision into a local draft, as a new document or into ``into``.

    Returns the local draft revision. The draft goes through the normal review and signed
    approval; its commits and its release carry the upstream provenance as trailers. The
    document, its draft and the adoption are one unit: a refused text leaves none of them.
    """
    _require_author(actor)
    _require_active(sub)
    rev = upstream_revision(sub, code, label)
    if into:
        doc = documents.get_document(into.strip())
        if documents.open_revision(doc) is not None:
            raise Conflict(
                _("%(code)s already has an open draft; finish it first.", code=doc.code),
                field="into",
            )
        if rev.doc_type and rev.doc_type != doc.doc_type:
            raise ValidationFailed(
                _(
                    "%(up)s is a %(up_type)s but %(code)s is a %(type)s.",
                    up=rev.code,
                    up_type=documents.type_label(rev.doc_type),
                    code=doc.code,
                    type=documents.type_label(doc.doc_type),
                ),
                field="into",
            )
    else:
        target = documents.validate_code(local_code or rev.code)
        text = upstream_text(rev.blob)
        meta, _body = _front_matter(text)
        if rev.doc_type not in documents.DOC_TYPES:
            raise ValidationFailed(
                _("The upstream document has no known type."), field="local_code"
            )
        doc = documents.create_document(
            actor,
            target,
            rev.title,
            rev.doc_type,
            parent=parent or None,
            department=department or None,
            clauses=documents.validate_clauses(meta.get("clauses") or []),
        )
    local = documents.save_draft(
        actor,
        doc,
        localise(upstream_text(rev.blob), doc.code),
        _(
            "Adopted from %(name)s: %(code)s revision %(rev)s",
            name=sub.name,
            code=rev.code,
            rev=rev.label,
        ),
        trailers=_trailers(sub, rev),
    )
    _record_adoption(actor, sub, rev, doc.code, local.label)
    return local


def _front_matter(text: str) -> tuple[dict, str]:
    try:
        return render.split_front_matter(text)
    except render.FrontMatterError:
        return {}, text


def _record_adoption(actor, sub, rev: UpstreamRevision, code: str, label: str) -> Adoption:
    adoption = Adoption(
        subscription_id=sub.id,
        document_code=code,
        revision_label=label,
        upstream_code=rev.code,
        upstream_revision=rev.label,
        upstream_commit=rev.commit,
        upstream_blob=rev.blob,
        adopted_by_id=actor.id,
    )
    db.session.add(adoption)
    trail.record(
        "document.adopted",
        "document",
        code,
        after={
            "revision": label,
            "upstream": sub.name,
            "url": sub.url,
            "upstream_revision": f"{rev.code}/{rev.label}",
            "upstream_commit": rev.commit,
        },
        user=actor,
    )
    return adoption


def provenance(code: str) -> list[Adoption]:
    """Return what a local document took from upstream, newest first."""
    return list(
        db.session.scalars(
            select(Adoption).where(Adoption.document_code == code).order_by(Adoption.id.desc())
        )
    )


def release_trailers(rev) -> list[tuple[str, str]]:
    """Provenance trailers for the release commit of an adopted revision (documents hook)."""
    adoption = db.session.scalar(
        select(Adoption).where(
            Adoption.document_code == rev.document.code, Adoption.revision_label == rev.label
        )
    )
    if adoption is None:
        return []
    return [
        ("Upstream-Repository", adoption.subscription.url),
        ("Upstream-Revision", f"{adoption.upstream_code}/{adoption.upstream_revision}"),
        ("Upstream-Commit", adoption.upstream_commit),
    ]


# -- following upstream changes --------------------------------------------------------


def _latest_adoptions(sub: Subscription) -> list[Adoption]:
    """Return the newest adoption of each (upstream document, local document) pair."""
    latest: dict[tuple[str, str], Adoption] = {}
    for adoption in db.session.scalars(
        select(Adoption).where(Adoption.subscription_id == sub.id).order_by(Adoption.id)
    ):
        latest[(adoption.upstream_code, adoption.document_code)] = adoption
    return list(latest.values())


def sync(actor: User, sub: Subscription | None = None) -> list[UpstreamChange]:
    """Fetch upstream(s) and raise a change request for each newer revision of an adopted one.

    Each change request carries the upstream redline (from the revision last adopted to the
    newest); a newer upstream revision raises one change request per local document, once.
    Each upstream is its own unit of work, so one that cannot be fetched or whose change is
    refused does not hold back the others.
    """
    _require_follower(actor)
    raised = []
    for each in [sub] if sub else [s for s in subscriptions() if s.active]:
        raised += sync_one(actor, each)
    return raised


@transactional
def sync_one(actor: User, sub: Subscription) -> list[UpstreamChange]:
    """Fetch one upstream and raise the change requests its newer revisions call for."""
    _require_follower(actor)
    if not fetch(None, sub):
        return []
    raised = []
    offered = {d.code: d for d in upstream_documents(sub)}
    for adoption in _latest_adoptions(sub):
        up = offered.get(adoption.upstream_code)
        if up is None:
            continue
        newest = up.latest
        if revision_order(newest.label) <= revision_order(adoption.upstream_revision):
            continue
        if _already_raised(sub, adoption, newest.label):
            continue
        if documents.get_document(adoption.document_code).status == "obsolete":
            continue
        raised.append(_raise_change(actor, sub, adoption, newest))
    return raised


def sync_actor(username: str | None = None) -> User | None:
    """Return the active administrator a scheduled sync acts as (``username`` if given)."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.id)
    if username:
        stmt = stmt.where(User.username == username)
    return next((u for u in db.session.scalars(stmt) if can_follow(u)), None)


def sync_all(username: str | None = None) -> list[UpstreamChange]:
    """Fetch every followed upstream and raise its change requests: the scheduled job.

    Needs no request: the change requests are raised in the name of the first active
    administrator (or ``username``), in their language. Raises :class:`Conflict` when
    there is none.
    """
    actor = sync_actor(username)
    # Outside a request there is no browser to take the language from.
    locale = (actor.locale if actor else None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        if actor is None:
            raise Conflict(
                _("No active administrator to raise the change requests of the upstream sync.")
            )
        raised = sync(actor)
    for sub in subscriptions():
        if sub.active and sub.last_error:
            log.warning("Upstream %s could not be fetched: %s", sub.name, sub.last_error)
    return raised


def _already_raised(sub: Subscription, adoption: Adoption, label: str) -> bool:
    return (
        db.session.scalar(
            select(UpstreamChange.id).where(
                UpstreamChange.subscription_id == sub.id,
                UpstreamChange.upstream_code == adoption.upstream_code,
                UpstreamChange.document_code == adoption.document_code,
                UpstreamChange.to_revision == label,
            )
        )
        is not None
    )


def _raise_change(actor, sub, adoption: Adoption, newest: UpstreamRevision) -> UpstreamChange:
    cr = documents.raise_change_request(
        actor,
        _(
            "Upstream %(name)s released %(code)s revision %(rev)s",
            name=sub.name,
            code=newest.code,
            rev=newest.label,
        ),
        _(
            "%(local)s was adopted from %(name)s (%(url)s), %(code)s revision %(old)s. "
            "Upstream has released revision %(rev)s on %(date)s; its redline is below. "
            "Accept to take it in as a new draft, or decline with the reason.",
            local=adoption.document_code,
            name=sub.name,
            url=sub.url,
            code=newest.code,
            old=adoption.upstream_revision,
            rev=newest.label,
            date=newest.effective_date or "—",
        ),
        [adoption.document_code],
        source_ref=f"{newest.code}/{newest.label}"[:40],
    )
    change = UpstreamChange(
        subscription_id=sub.id,
        document_code=adoption.document_code,
        upstream_code=newest.code,
        change_request=cr.number,
        from_revision=adoption.upstream_revision,
        from_commit=adoption.upstream_commit,
        from_blob=adoption.upstream_blob,
        to_revision=newest.label,
        to_commit=newest.commit,
        to_blob=newest.blob,
    )
    db.session.add(change)
    trail.record(
        "upstream.change_raised",
        "change_request",
        cr.number,
        after={
            "upstream": sub.name,
            "from": f"{adoption.upstream_code}/{adoption.upstream_revision}",
            "to": f"{newest.code}/{newest.label}",
        },
        user=actor,
    )
    return change


def change_for(number: str) -> UpstreamChange | None:
    """Return the upstream change behind a change request, if it came from upstream."""
    return db.session.scalar(select(UpstreamChange).where(UpstreamChange.change_request == number))


def change_redline(change: UpstreamChange):
    """Return the word-by-word redline from the adopted upstream text to the newer one."""
    from qms.documents.redline import redline

    return redline(upstream_text(change.from_blob), upstream_text(change.to_blob))


@transactional
def take_in(actor: User, change: UpstreamChange):
    """Open the local document's next draft from the newer upstream text, under the accepted CR."""
    _require_author(actor)
    if change.taken_in_revision:
        raise Conflict(
            _(
                "This upstream change was taken in as revision %(rev)s.",
                rev=change.taken_in_revision,
            )
        )
    cr = documents.get_change_request(change.change_request)
    if cr.status != "accepted":
        raise Conflict(_("Change request %(number)s must be accepted first.", number=cr.number))
    doc = documents.get_document(change.document_code)
    if documents.open_revision(doc) is not None:
        raise Conflict(_("%(code)s already has an open draft; finish it first.", code=doc.code))
    sub = change.subscription
    rev = UpstreamRevision(
        code=change.upstream_code,
        label=change.to_revision,
        title="",
        doc_type=doc.doc_type,
        commit=change.to_commit,
        blob=change.to_blob,
        effective_date=None,
    )
    local = documents.save_draft(
        actor,
        doc,
        localise(upstream_text(change.to_blob), doc.code),
        _(
            "Taken in from %(name)s: %(code)s revision %(rev)s",
            name=sub.name,
            code=change.upstream_code,
            rev=change.to_revision,
        ),
        change_request=cr.number,
        trailers=_trailers(sub, rev),
    )
    change.taken_in_revision = local.label
    _record_adoption(actor, sub, rev, doc.code, local.label)
    return local

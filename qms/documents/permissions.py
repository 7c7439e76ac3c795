"""Who may do what in document control: one ``can_<verb>(user, obj)`` per rule.

The services guard every step with these, and the pages and templates ask the same
functions which buttons to show, so a rule is written once. ``obj`` may be None to ask
whether the user may do it to any document at all (a menu entry, a home-page panel).
"""

from __future__ import annotations

from flask_babel import gettext as _

from qms import trail
from qms.auth.models import User
from qms.documents.models import ChangeRequest, Document, Revision
from qms.errors import PermissionDenied

AUTHORING_ROLES = ("author", "approver", "admin")
APPROVING_ROLES = ("approver",)
IMPORTING_ROLES = ("admin",)


REVISION_AUTHORING = ("revision.opened", "revision.saved")


def contributors(rev: Revision) -> set[int]:
    """Return the ids of everyone who opened or saved the revision: its authors."""
    return contributors_of([rev])[rev.id]


def contributors_of(revs: list[Revision]) -> dict[int, set[int]]:
    """Return, by revision id, the ids of everyone who opened or saved each revision.

    One indexed query for all of them (``audit_event`` by object type and key), so a page
    listing open revisions does not scan the trail once per revision.
    """
    keys = {f"{rev.document.code}/{rev.label}": rev.id for rev in revs}
    found = {rev.id: {rev.author_id} for rev in revs}
    for key, user_id in trail.users_for("revision", list(keys), REVISION_AUTHORING):
        found[keys[key]].add(user_id)
    return found


def can_author(user: User, doc: Document | None = None) -> bool:
    """Return whether ``user`` may add documents and write their drafts."""
    return user.has_role(*AUTHORING_ROLES)


def _route_step(user: User, rev: Revision, meaning: str) -> bool | None:
    """With a route for the revision's type: whether ``user`` may sign its next step, which
    must mean ``meaning``; None when the type has no route."""
    from qms.documents import routes

    route = routes.route_for(rev.document.doc_type)
    if route is None:
        return None
    step = routes.next_step(rev, route)
    if step is None or step.meaning != meaning:
        return False
    return routes.signing_as(user, step, contributors(rev))[0]


def can_review(user: User, rev: Revision | None = None) -> bool:
    """Return whether ``user`` may sign a revision as reviewed: anyone but its authors, or
    with a route, who signs its next step when that is a review."""
    if rev is None:
        return True
    by_route = _route_step(user, rev, "reviewed")
    return user.id not in contributors(rev) if by_route is None else by_route


def can_approve(user: User, rev: Revision | None = None) -> bool:
    """Return whether ``user`` may approve ``rev``: an approver who did not author it, or
    with a route, who signs its next step (in person or as a delegate) when it approves."""
    if rev is None:
        return user.has_role(*APPROVING_ROLES)
    by_route = _route_step(user, rev, "approved")
    if by_route is not None:
        return by_route
    return user.has_role(*APPROVING_ROLES) and user.id not in contributors(rev)


def can_reject(user: User, doc: Document | None = None) -> bool:
    """Return whether ``user`` may send a revision in review back to draft."""
    return user.has_role(*APPROVING_ROLES)


def can_release(user: User, doc: Document | None = None) -> bool:
    """Return whether ``user`` may release an approved revision."""
    return user.has_role(*APPROVING_ROLES)


def can_obsolete(user: User, doc: Document | None = None) -> bool:
    """Return whether ``user`` may withdraw an effective document."""
    return user.has_role(*APPROVING_ROLES)


def can_review_periodically(user: User, doc: Document | None = None) -> bool:
    """Return whether ``user`` may record a periodic review "reviewed, no change"."""
    return user.has_role(*APPROVING_ROLES)


def can_decide_change_request(user: User, cr: ChangeRequest | None = None) -> bool:
    """Return whether ``user`` may accept or decline a change request."""
    return user.has_role(*APPROVING_ROLES)


def can_import(user: User, items: object = None) -> bool:
    """Return whether ``user`` may import an existing system's documents."""
    return user.has_role(*IMPORTING_ROLES)


#: Every rule by name, for the templates (``document_rules.can_release(current_user, doc)``).
def can_configure_routes(user: User) -> bool:
    """Return whether ``user`` may set the approval routes: an administrator."""
    return user.has_role("admin")


def can_delegate(user: User, delegator: User | None = None) -> bool:
    """Return whether ``user`` may hand ``delegator``'s signing to someone: themselves, or
    an administrator for anyone."""
    return user.has_role("admin") or delegator is None or delegator.id == user.id


RULES = {
    fn.__name__: fn
    for fn in (
        can_author,
        can_review,
        can_approve,
        can_reject,
        can_release,
        can_obsolete,
        can_review_periodically,
        can_decide_change_request,
        can_import,
        can_configure_routes,
        can_delegate,
    )
}


def needs_role(*roles: str) -> PermissionDenied:
    """Return the refusal for a step that needs one of ``roles``."""
    return PermissionDenied(_("This needs the role: %(roles)s.", roles=", ".join(roles)))

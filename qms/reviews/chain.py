"""The improvement trail: finding -> NC -> actions -> released revision -> check -> review.

Built only from the public services of audits, improvement and documents.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.audits import services as audits
from qms.documents import services as documents
from qms.errors import NotFound
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews.labels import state_label
from qms.reviews.models import Complaint, Review
from qms.reviews.sources import action_url, audit_url, link, nc_url

KINDS = ("finding", "nc", "action", "revision", "review", "complaint")


@dataclass
class Step:
    kind: str
    title: str
    key: str = ""
    url: str | None = None
    when: date | datetime | None = None
    status: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    current: bool = False

    @property
    def day(self) -> date | None:
        """The step's date in the organisation's zone (timestamps are stored in UTC)."""
        return clock.local(self.when).date() if isinstance(self.when, datetime) else self.when


@dataclass
class Chain:
    kind: str
    key: str
    steps: list[Step] = field(default_factory=list)
    # Other trails reachable from here (a review's NCs and actions), as (label, url).
    related: list[tuple[str, str]] = field(default_factory=list)


def trail_url(kind: str, key: str) -> str:
    return url_for("reviews.trail", kind=kind, key=key)


def _s(value) -> str:
    return "" if value is None else str(value)


# -- steps -----------------------------------------------------------------------------


def _finding_steps(nc_number: str) -> list[Step]:
    """The audit findings that raised the NC."""
    steps = []
    for q in audits.findings_raising(nc_number):
        audit = q.audit
        steps.append(
            Step(
                "finding",
                _("Audit finding"),
                f"{audit.ref}/{q.seq}",
                audit_url(audit.ref),
                q.answered_at,
                audits.result_label(q.result),
                [
                    (_("Audit"), f"{audit.ref} {audit.title}"),
                    (_("Clause"), _s(q.clause)),
                    (_("Question"), q.text),
                    (_("Evidence"), q.evidence),
                ],
            )
        )
    return steps


def _complaint_steps(nc_number: str) -> list[Step]:
    rows = db.session.scalars(select(Complaint).where(Complaint.nc_number == nc_number))
    return [
        Step(
            "complaint",
            _("Customer complaint"),
            c.number,
            url_for("reviews.complaint", number=c.number),
            c.received_on,
            "",
            [(_("Department"), c.department.name), (_("Complaint"), c.content)],
        )
        for c in rows
    ]


def _nc_step(nc) -> Step:
    state = improvement.nc_state_label(nc.state)
    lines = [
        (_("Source"), improvement.source_label(nc.source)),
        (_("Department"), nc.department.name),
        (_("Severity"), improvement.severity_label(nc.severity)),
        (_("Description"), nc.description),
    ]
    if nc.containment:
        lines.append((_("Containment"), nc.containment))
    if nc.root_cause:
        lines.append((_("Root cause"), nc.root_cause))
    return Step(
        "nc",
        _("Nonconformity"),
        nc.number,
        nc_url(nc.number),
        nc.raised_at,
        state,
        lines,
        [(nc.title, nc_url(nc.number))] if nc_url(nc.number) else [],
    )


def _action_steps(action) -> list[Step]:
    steps = [
        Step(
            "action",
            improvement.action_type_label(action.action_type),
            action.number,
            action_url(action.number),
            action.created_at,
            improvement.action_state_label(action.state),
            [
                (_("Action"), action.title),
                (_("Owner"), action.owner.display_name),
                (_("Due"), _s(action.due_date)),
                (_("Change request"), _s(action.change_request)),
            ],
        )
    ]
    release = improvement.action_release(action, with_redline=True)
    if release is not None:
        links = [
            (
                _("Revision %(rev)s", rev=release.revision),
                link("documents.revision", code=release.code, label=release.revision),
            )
        ]
        if release.previous:
            links.append(
                (
                    _("Redline %(old)s → %(new)s", old=release.previous, new=release.revision),
                    link(
                        "documents.diff",
                        code=release.code,
                        **{"from": release.previous, "to": release.revision},
                    ),
                )
            )
        lines = [(_("Summary"), release.summary), (_("Commit"), release.commit[:12])]
        if release.words_added is not None:
            lines.append((_("Words changed"), f"+{release.words_added} / −{release.words_removed}"))
        steps.append(
            Step(
                "revision",
                _("Released revision"),
                f"{release.code}/{release.revision}",
                link("documents.detail", code=release.code),
                release.effective_date,
                _s(release.status),
                lines,
                [(label, url) for label, url in links if url],
            )
        )
    if action.checked_at is not None:
        steps.append(
            Step(
                "check",
                _("Effectiveness check"),
                action.number,
                action_url(action.number),
                action.checked_at,
                improvement.action_state_label(action.state),
                [
                    (_("Criteria"), _s(action.effectiveness_criteria)),
                    (_("Result"), _s(action.check_result)),
                    (_("Checked by"), action.checked_by.display_name if action.checked_by else ""),
                ],
            )
        )
    return steps


def _review_steps(keys: list[tuple[str, str]]) -> list[Step]:
    from qms.reviews.services import reviews_discussing

    seen, steps = set(), []
    for kind, key in keys:
        for review in reviews_discussing(kind, key):
            if review.id in seen:
                continue
            seen.add(review.id)
            steps.append(_review_step(review))
    return steps


def _review_step(review: Review) -> Step:
    return Step(
        "review",
        _("Management review"),
        review.number,
        url_for("reviews.review", number=review.number),
        review.held_on or review.planned_on,
        state_label(review.state),
        [(_("Title"), review.title), (_("Chair"), review.chair.display_name)]
        + [(_("Decision"), d.text) for d in review.decisions],
    )


# -- chains ----------------------------------------------------------------------------


def _nc_chain(chain: Chain, nc, current: str) -> Chain:
    steps = _finding_steps(nc.number) + _complaint_steps(nc.number) + [_nc_step(nc)]
    keys = [("nc", nc.number)]
    for action in nc.actions:
        steps += _action_steps(action)
        keys.append(("action", action.number))
    if nc.closed_at is not None or nc.check_result:
        steps.append(
            Step(
                "check",
                _("NC effectiveness check and closure"),
                nc.number,
                nc_url(nc.number),
                nc.closed_at,
                improvement.nc_state_label(nc.state),
                [
                    (_("Result"), _s(nc.check_result)),
                    (_("Checked by"), nc.checked_by.display_name if nc.checked_by else ""),
                ],
            )
        )
    steps += _review_steps(keys)
    chain.steps = steps
    for step in steps:
        step.current = step.key == current
    return chain


def _action_chain(chain: Chain, action) -> Chain:
    if action.nonconformity is not None:
        return _nc_chain(chain, action.nonconformity, action.number)
    steps = _action_steps(action) + _review_steps([("action", action.number)])
    chain.steps = steps
    for step in steps:
        step.current = step.key == action.number and step.kind == "action"
    return chain


def build(kind: str, key: str) -> Chain:
    """Return the improvement trail through the object ``kind``/``key``.

    :raises NotFound: unknown kind, or an object that does not exist.
    """
    chain = Chain(kind, key)
    if kind == "nc":
        return _nc_chain(chain, improvement.get_nc(key), key)
    if kind == "action":
        return _action_chain(chain, improvement.get_action(key))
    if kind == "finding":
        return _finding_chain(chain, key)
    if kind == "revision":
        return _revision_chain(chain, key)
    if kind == "complaint":
        from qms.reviews.feedback import get_complaint

        complaint = get_complaint(key)
        if complaint.nc_number:
            return _nc_chain(chain, improvement.get_nc(complaint.nc_number), key)
        chain.steps = _complaint_steps_for(complaint)
        return chain
    if kind == "review":
        return _review_chain(chain, key)
    raise NotFound(_("There is no trail for %(kind)s %(key)s.", kind=kind, key=key))


def _complaint_steps_for(complaint: Complaint) -> list[Step]:
    return [
        Step(
            "complaint",
            _("Customer complaint"),
            complaint.number,
            url_for("reviews.complaint", number=complaint.number),
            complaint.received_on,
            "",
            [(_("Complaint"), complaint.content)],
            current=True,
        )
    ]


def _finding_chain(chain: Chain, key: str) -> Chain:
    ref, _sep, seq = key.rpartition("/")
    if not ref:
        raise NotFound(_("There is no audit finding %(key)s.", key=key))
    question = audits.get_question(audits.get_audit(ref), seq)
    if question.nc_number:
        return _nc_chain(chain, improvement.get_nc(question.nc_number), key)
    if question.action_ref:
        chain.steps = [
            Step(
                "finding",
                _("Audit finding"),
                key,
                audit_url(ref),
                question.answered_at,
                _s(question.result),
                [(_("Question"), question.text), (_("Evidence"), question.evidence)],
                current=True,
            )
        ]
        chain.steps += _action_steps(improvement.get_action(question.action_ref))
        return chain
    chain.steps = [
        Step(
            "finding",
            _("Audit finding"),
            key,
            audit_url(ref),
            question.answered_at,
            _s(question.result),
            [(_("Question"), question.text), (_("Evidence"), question.evidence)],
            current=True,
        )
    ]
    return chain


def _revision_chain(chain: Chain, key: str) -> Chain:
    code, _sep, label = key.rpartition("/")
    if not code:
        raise NotFound(_("Name the revision as CODE/REVISION, e.g. QP-07/B."))
    rev = documents.get_revision(documents.get_document(code), label)
    cr = rev.change_request
    if cr is not None:
        source = (cr.source_ref or "").strip()
        if source.startswith("NC-"):
            return _nc_chain(chain, improvement.get_nc(source), key)
        actions = db.session.scalars(improvement.list_actions()).all()
        for action in actions:
            if action.change_request == cr.number or action.number == source:
                return _action_chain(chain, action)
    chain.steps = [
        Step(
            "revision",
            _("Released revision"),
            key,
            link("documents.revision", code=code, label=label),
            rev.effective_date,
            documents.status_label(rev.status),
            [(_("Summary"), rev.summary), (_("Change request"), cr.number if cr else "")],
            current=True,
        )
    ]
    return chain


def _review_chain(chain: Chain, number: str) -> Chain:
    from qms.reviews.models import ReviewTopic
    from qms.reviews.services import get_review

    review = get_review(number)
    step = _review_step(review)
    step.current = True
    chain.steps = [step]
    topics = db.session.scalars(
        select(ReviewTopic)
        .where(ReviewTopic.review_id == review.id)
        .order_by(ReviewTopic.kind, ReviewTopic.key)
    )
    chain.related = [
        (f"{t.key}", trail_url(t.kind, t.key)) for t in topics if t.kind in ("nc", "action")
    ]
    return chain

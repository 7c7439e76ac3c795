"""Running a scheme for a period, entering manual scores, confirming and correcting."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.evaluation import labels, sources
from qms.evaluation.models import (
    Evaluation,
    EvaluationResult,
    EvaluationScheme,
    ResultCriterion,
    SchemeCriterion,
)
from qms.evaluation.permissions import (
    can_adjust,
    can_confirm,
    can_correct,
    can_discard,
    can_run,
)
from qms.evaluation.results import current, get_result
from qms.evaluation.scoring import number, points_for, stars_for, weighted_total
from qms.extensions import db
from qms.models import utcnow
from qms.reviews import periods as period_rules
from qms.uow import transactional

# -- subjects ------------------------------------------------------------------------------


def subjects(kind: str) -> list[sources.Subject]:
    """Return the subjects a scheme of ``kind`` scores: every department, every active window."""
    if kind == "window":
        from qms.standards import catalogue

        return [
            sources.Subject("window", w.code, f"{w.code} {w.name}", w.department_id)
            for w in catalogue.active_windows()
        ]
    return [
        sources.Subject("department", str(d.id), d.name, d.id)
        for d in db.session.scalars(select(Department).order_by(Department.name))
    ]


# -- running, adjusting, confirming ---------------------------------------------------------


def check_period(scheme: EvaluationScheme, period: str) -> str:
    """Return the period cleaned. :raises ValidationFailed: malformed, another frequency's,
    or not begun yet."""
    period = (period or "").strip().upper()
    if period_rules.PATTERNS[scheme.period].match(period) is None:
        raise ValidationFailed(
            _(
                "%(scheme)s is run %(period)s: write the period like %(example)s.",
                scheme=scheme.name,
                period=labels.period_label(scheme.period),
                example=period_rules.EXAMPLES[scheme.period],
            ),
            field="period",
        )
    if not 2000 <= int(period[:4]) <= 2100:
        raise ValidationFailed(_("The year must be between 2000 and 2100."), field="period")
    if period_rules.bounds(period)[0] > clock.today():
        raise ValidationFailed(
            _("%(period)s has not begun: nothing can be evaluated yet.", period=period),
            field="period",
        )
    return period


def _measure(
    criterion: SchemeCriterion, subject: sources.Subject, start: date, end: date
) -> ResultCriterion:
    source = sources.get(criterion.source)
    rule = criterion.rule_dict()
    row = ResultCriterion(
        position=criterion.position,
        source=criterion.source,
        label=criterion.label,
        weight=criterion.weight,
        rule=rule,
        value=None,
        points=0.0,
        detail="",
        note="",
        evidence=[],
    )
    if source is None:
        row.detail = _("the source is no longer available")
    elif source.manual:
        row.detail = _("entered by the evaluator")
    else:
        measure = source.compute(subject, start, end, rule["params"])
        row.value = measure.value
        row.detail = measure.detail
        row.evidence = [e.as_dict() for e in measure.evidence]
    row.points = points_for(rule, row.value)
    return row


def _score(result: EvaluationResult, thresholds) -> None:
    result.total = weighted_total(result.criteria)
    result.stars = stars_for(result.total, thresholds)


def _open_draft(scheme: EvaluationScheme, period: str) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation).where(
            Evaluation.scheme_id == scheme.id,
            Evaluation.period == period,
            Evaluation.state == "draft",
        )
    )


@transactional
def run(
    actor: User,
    scheme: EvaluationScheme,
    period: str,
    reason: str = "",
    corrects: Evaluation | None = None,
) -> Evaluation:
    """Run ``scheme`` for ``period``: a draft with every subject's values, points and stars.

    A period already confirmed is run again only as a correction (:func:`correct`).
    """
    if not can_run(actor):
        raise PermissionDenied(_("Only the quality office may run evaluations."))
    period = check_period(scheme, period)
    if _open_draft(scheme, period) is not None:
        raise Conflict(
            _(
                "%(period)s of %(scheme)s already has a draft: confirm or discard it first.",
                period=period,
                scheme=scheme.name,
            ),
            field="period",
        )
    standing = current(scheme, period)
    if standing is not None and corrects is None:
        raise Conflict(
            _(
                "%(period)s of %(scheme)s is confirmed (%(number)s): run a correction with "
                "a reason instead.",
                period=period,
                scheme=scheme.name,
                number=standing.number,
            ),
            field="period",
        )
    start, end = period_rules.bounds(period)
    evaluation = Evaluation(
        scheme_id=scheme.id,
        subject_kind=scheme.subject_kind,
        period=period,
        start=start,
        end=end,
        thresholds=list(scheme.thresholds),
        state="draft",
        corrects_id=corrects.id if corrects else None,
        reason=(reason or "").strip(),
        created_by_id=actor.id,
    )
    for subject in subjects(scheme.subject_kind):
        result = EvaluationResult(subject_key=subject.key, subject_name=subject.name)
        result.criteria = [_measure(c, subject, start, end) for c in scheme.criteria]
        _score(result, evaluation.thresholds)
        evaluation.results.append(result)
    evaluation.number = f"EV-{next_number('EV'):04d}"
    db.session.add(evaluation)
    db.session.flush()
    trail.record(
        "evaluation.run",
        "evaluation",
        evaluation.number,
        after={
            "scheme": scheme.name,
            "period": period,
            "corrects": corrects.number if corrects else None,
            "reason": evaluation.reason,
            "results": _totals(evaluation),
        },
        user=actor,
    )
    return evaluation


@transactional
def correct(actor: User, evaluation: Evaluation, reason: str) -> Evaluation:
    """Run a confirmed evaluation's scheme and period again, as its correction, with a reason."""
    if not can_correct(actor, evaluation):
        if evaluation.state != "confirmed":
            raise Conflict(_("Only a confirmed evaluation is corrected; change the draft instead."))
        raise PermissionDenied(_("Only the quality office may run evaluations."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the correction."), field="reason")
    if current(evaluation.scheme, evaluation.period) is not evaluation:
        raise Conflict(
            _("%(number)s was already corrected: correct the newest one.", number=evaluation.number)
        )
    return run(actor, evaluation.scheme, evaluation.period, reason, corrects=evaluation)


def _totals(evaluation: Evaluation) -> dict:
    return {r.subject_name: [r.total, r.stars] for r in evaluation.results}


def _refuse_unless_draft(actor: User, evaluation: Evaluation, allowed: bool) -> None:
    if evaluation.state != "draft":
        raise Conflict(
            _(
                "%(number)s is confirmed and is never edited: run a correction with a reason.",
                number=evaluation.number,
            )
        )
    if not allowed:
        raise PermissionDenied(_("Only the quality office may run evaluations."))


@transactional
def adjust(
    actor: User, evaluation: Evaluation, subject_key: str, position: int, value, note: str
) -> ResultCriterion:
    """Enter a manual criterion's value (0–100) for one subject of a draft, with a note."""
    _refuse_unless_draft(actor, evaluation, can_adjust(actor, evaluation))
    result = get_result(evaluation, subject_key)
    row = next((c for c in result.criteria if c.position == position), None)
    source = sources.get(row.source) if row is not None else None
    if row is None or source is None or not source.manual:
        raise ValidationFailed(_("Only a manual criterion is entered by hand."), field="value")
    score = number(value, "value", _("The score is a number from 0 to 100."))
    if not 0 <= score <= 100:
        raise ValidationFailed(_("The score is a number from 0 to 100."), field="value")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say what the score is based on."), field="note")
    before = {"value": row.value, "note": row.note, "total": result.total, "stars": result.stars}
    row.value, row.note = score, note
    row.points = points_for(row.rule, row.value)
    _score(result, evaluation.thresholds)
    db.session.flush()
    trail.record(
        "evaluation.adjusted",
        "evaluation",
        evaluation.number,
        before={"subject": result.subject_name, "criterion": row.label, **before},
        after={
            "subject": result.subject_name,
            "criterion": row.label,
            "value": row.value,
            "note": row.note,
            "total": result.total,
            "stars": result.stars,
        },
        user=actor,
    )
    return row


def missing_manual(evaluation: Evaluation) -> list[tuple[EvaluationResult, ResultCriterion]]:
    """Return the manual criteria of the evaluation still without a value."""
    return [
        (result, row)
        for result in evaluation.results
        for row in result.criteria
        if row.value is None and (s := sources.get(row.source)) is not None and s.manual
    ]


@transactional
def confirm(actor: User, evaluation: Evaluation) -> Evaluation:
    """Confirm a draft: from now on it is never edited. Every manual value must be entered."""
    _refuse_unless_draft(actor, evaluation, can_confirm(actor, evaluation))
    missing = missing_manual(evaluation)
    if missing:
        result, row = missing[0]
        raise ValidationFailed(
            _(
                "Enter %(criterion)s for %(subject)s first (%(n)d manual scores missing).",
                criterion=row.label,
                subject=result.subject_name,
                n=len(missing),
            )
        )
    if evaluation.corrects is not None and current(evaluation.scheme, evaluation.period) is not (
        evaluation.corrects
    ):
        raise Conflict(_("The evaluation this one corrects was corrected meanwhile."))
    evaluation.state = "confirmed"
    evaluation.confirmed_by_id = actor.id
    evaluation.confirmed_at = utcnow()
    db.session.flush()
    trail.record(
        "evaluation.confirmed",
        "evaluation",
        evaluation.number,
        before={"state": "draft"},
        after={"state": "confirmed", "results": _totals(evaluation)},
        user=actor,
    )
    return evaluation


@transactional
def discard(actor: User, evaluation: Evaluation) -> None:
    """Throw a draft away; a confirmed evaluation is kept for ever."""
    _refuse_unless_draft(actor, evaluation, can_discard(actor, evaluation))
    trail.record(
        "evaluation.discarded",
        "evaluation",
        evaluation.number,
        before={"period": evaluation.period, "results": _totals(evaluation)},
        user=actor,
    )
    db.session.delete(evaluation)
    db.session.flush()

"""The rules of supervision and evaluation (监督评价), for pages and API alike.

- A scheme names what it scores (departments or windows), how often, its criteria (a
  source from :mod:`~qms.evaluation.sources`, a weight, a rule from value to points) and
  the least total for each star level. Weights sum to 100; thresholds descend.
- Running a scheme for a period computes, for every subject, each criterion's value, its
  points (0–100) and the evidence counted; the total is the weighted sum of the points
  (rounded to 0.1) and the stars are read from the total against the thresholds.
- A run is a draft: the evaluator enters the manual criteria with a note, then confirms.
  A confirmed evaluation is never edited; a correction is a new evaluation with a reason,
  which replaces the one it corrects once confirmed.

Nothing here commits: the outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.evaluation import labels, sources
from qms.evaluation.models import (
    DEFAULT_THRESHOLDS,
    DIRECTIONS,
    PERIODS,
    RULES,
    SUBJECT_KINDS,
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
    can_manage_schemes,
    can_run,
)
from qms.extensions import db
from qms.models import utcnow
from qms.reviews import periods as period_rules
from qms.uow import transactional

MAX_CRITERIA = 12


# -- star levels and points ----------------------------------------------------------------


def stars_for(total: float, thresholds) -> int:
    """Return the star level (1–5) a total earns: five at or above the first threshold,
    four at or above the second, and so on; one below the last."""
    for stars, least in zip((5, 4, 3, 2), thresholds, strict=True):
        if total >= least:
            return stars
    return 1


def points_for(rule: dict, value: float | None) -> float:
    """Return the points (0–100) a value scores under ``rule``; no value scores nothing.

    ``linear``: full points at the target or beyond it (in the rule's direction), none at
    the zero point or beyond, in a straight line between. ``bands``: ``[bound, points]``
    pairs, best first; a value scores the points of the first bound it reaches (at least
    the bound when higher is better, at most when lower is), else none.
    """
    if value is None:
        return 0.0
    higher = rule.get("direction", "higher") == "higher"
    if rule.get("rule") == "bands":
        for bound, points in rule.get("bands") or []:
            if (value >= bound) if higher else (value <= bound):
                return float(points)
        return 0.0
    target, zero = float(rule["target"]), float(rule["zero"])
    share = (value - zero) / (target - zero)
    return round(100.0 * min(1.0, max(0.0, share)), 1)


def weighted_total(criteria) -> float:
    """Return the weighted sum of the criteria's points (weights sum to 100), to 0.1."""
    return round(sum(c.points * c.weight for c in criteria) / 100.0 + 1e-9, 1)


# -- checking what is given -----------------------------------------------------------------


def _number(value, field: str, message: str) -> float:
    if isinstance(value, bool):
        raise ValidationFailed(message, field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(message, field=field) from None
    if not math.isfinite(number):
        raise ValidationFailed(message, field=field)
    return number


def _thresholds(values) -> list[float]:
    message = _(
        "Give four star thresholds from 0 to 100, each lower than the one before "
        "(five, four, three and two stars)."
    )
    values = list(values or [])
    if len(values) != 4:
        raise ValidationFailed(message, field="thresholds")
    numbers = [_number(v, "thresholds", message) for v in values]
    if any(not 0 <= n <= 100 for n in numbers) or any(
        a <= b for a, b in zip(numbers, numbers[1:], strict=False)
    ):
        raise ValidationFailed(message, field="thresholds")
    return numbers


def _bands(raw, direction: str, name: str) -> list[list[float]]:
    message = _(
        "The bands of %(name)s are bound: points pairs, best first, with points from 0 to 100.",
        name=name,
    )
    bands = []
    for pair in raw or []:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValidationFailed(message, field="criteria")
        bound = _number(pair[0], "criteria", message)
        points = _number(pair[1], "criteria", message)
        if not 0 <= points <= 100:
            raise ValidationFailed(message, field="criteria")
        bands.append([bound, points])
    if not bands:
        raise ValidationFailed(message, field="criteria")
    bounds = [b for b, _p in bands]
    ordered = all(
        (a > b) if direction == "higher" else (a < b)
        for a, b in zip(bounds, bounds[1:], strict=False)
    )
    if not ordered:
        raise ValidationFailed(
            _(
                "The bands of %(name)s must go from the best value to the worst.",
                name=name,
            ),
            field="criteria",
        )
    return bands


def _criterion(item: dict, kind: str, position: int) -> SchemeCriterion:
    key = str(item.get("source") or "").strip()
    source = sources.get(key)
    if source is None or kind not in source.kinds:
        raise ValidationFailed(
            _("%(source)s is not a source for %(kind)s.", source=key, kind=labels.kind_label(kind)),
            field="criteria",
        )
    name = str(item.get("label") or "").strip()[:200] or str(source.label)
    weight = item.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
        raise ValidationFailed(
            _("The weight of %(name)s is a whole number from 1 to 100.", name=name),
            field="criteria",
        )
    rule = item.get("rule") or "linear"
    direction = item.get("direction") or "higher"
    if rule not in RULES or direction not in DIRECTIONS:
        raise ValidationFailed(_("Choose the rule and direction of %(name)s.", name=name))
    row = SchemeCriterion(
        position=position,
        source=key,
        label=name,
        weight=weight,
        rule=rule,
        direction=direction,
        bands=[],
        params={},
    )
    if rule == "linear":
        message = _("Give %(name)s a target and a zero point (numbers).", name=name)
        row.target = _number(item.get("target"), "criteria", message)
        row.zero = _number(item.get("zero"), "criteria", message)
        if (row.target <= row.zero) if direction == "higher" else (row.target >= row.zero):
            raise ValidationFailed(
                _(
                    "The target of %(name)s must be better than its zero point: higher "
                    "when higher is better, lower when lower is better.",
                    name=name,
                ),
                field="criteria",
            )
    else:
        row.bands = _bands(item.get("bands"), direction, name)
    params = item.get("params") or {}
    for param in source.params:
        text = str(params.get(param) or "").strip()
        if not text:
            raise ValidationFailed(
                _("%(name)s needs its %(param)s.", name=name, param=param), field="criteria"
            )
        row.params[param] = text[:100]
    return row


def _criteria(items, kind: str) -> list[SchemeCriterion]:
    rows = [_criterion(dict(item), kind, n) for n, item in enumerate(items or [])]
    if not rows:
        raise ValidationFailed(_("A scheme needs at least one criterion."), field="criteria")
    if len(rows) > MAX_CRITERIA:
        raise ValidationFailed(
            _("A scheme has at most %(n)d criteria.", n=MAX_CRITERIA), field="criteria"
        )
    seen = set()
    for row in rows:
        if row.label.lower() in seen:
            raise ValidationFailed(
                _("The criterion %(name)s is given twice.", name=row.label), field="criteria"
            )
        seen.add(row.label.lower())
    total = sum(r.weight for r in rows)
    if total != 100:
        raise ValidationFailed(
            _("The weights add up to %(total)d; they must add up to 100.", total=total),
            field="criteria",
        )
    return rows


def _name(name: str | None, scheme: EvaluationScheme | None = None) -> str:
    name = (name or "").strip()[:200]
    if not name:
        raise ValidationFailed(_("A name is required."), field="name")
    clash = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == name))
    if clash is not None and clash is not scheme:
        raise ValidationFailed(_("There is already a scheme %(name)s.", name=name), field="name")
    return name


def _snapshot(s: EvaluationScheme) -> dict:
    return {
        "name": s.name,
        "subject_kind": s.subject_kind,
        "period": s.period,
        "thresholds": list(s.thresholds),
        "criteria": [
            {"source": c.source, "label": c.label, "weight": c.weight, **c.rule_dict()}
            for c in s.criteria
        ],
    }


# -- schemes -------------------------------------------------------------------------------


@transactional
def create_scheme(
    actor: User,
    name: str,
    subject_kind: str,
    period: str,
    criteria,
    thresholds=DEFAULT_THRESHOLDS,
) -> EvaluationScheme:
    """Define a scheme. :raises ValidationFailed: see the rules of the module."""
    if not can_manage_schemes(actor):
        raise PermissionDenied(_("Only an administrator may define evaluation schemes."))
    if subject_kind not in SUBJECT_KINDS:
        raise ValidationFailed(_("Choose what the scheme scores."), field="subject_kind")
    if period not in PERIODS:
        raise ValidationFailed(_("Choose how often the scheme is run."), field="period")
    scheme = EvaluationScheme(
        name=_name(name),
        subject_kind=subject_kind,
        period=period,
        thresholds=_thresholds(thresholds),
        created_by_id=actor.id,
    )
    scheme.criteria = _criteria(criteria, subject_kind)
    db.session.add(scheme)
    db.session.flush()
    trail.record(
        "evaluation_scheme.created",
        "evaluation_scheme",
        str(scheme.id),
        after=_snapshot(scheme),
        user=actor,
    )
    return scheme


@transactional
def change_scheme(actor: User, scheme: EvaluationScheme, **changes) -> EvaluationScheme:
    """Change a scheme's name, period, criteria or thresholds (not what it scores).

    Evaluations already run keep the criteria they were run with.
    """
    if not can_manage_schemes(actor):
        raise PermissionDenied(_("Only an administrator may define evaluation schemes."))
    before = _snapshot(scheme)
    if "name" in changes:
        scheme.name = _name(changes["name"], scheme)
    if "period" in changes:
        if changes["period"] not in PERIODS:
            raise ValidationFailed(_("Choose how often the scheme is run."), field="period")
        scheme.period = changes["period"]
    if "thresholds" in changes:
        scheme.thresholds = _thresholds(changes["thresholds"])
    if "criteria" in changes:
        scheme.criteria = _criteria(changes["criteria"], scheme.subject_kind)
    after = _snapshot(scheme)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    scheme.updated_at = utcnow()
    db.session.flush()
    trail.record(
        "evaluation_scheme.changed",
        "evaluation_scheme",
        str(scheme.id),
        before,
        after,
        user=actor,
    )
    return scheme


def list_schemes() -> list[EvaluationScheme]:
    return list(db.session.scalars(select(EvaluationScheme).order_by(EvaluationScheme.name)))


def get_scheme(ident: int | str) -> EvaluationScheme:
    """Return the scheme ``ident``. :raises NotFound: there is none."""
    try:
        scheme = db.session.get(EvaluationScheme, int(ident))
    except (TypeError, ValueError):
        scheme = None
    if scheme is None:
        raise NotFound(_("There is no evaluation scheme %(id)s.", id=ident))
    return scheme


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
    number = _number(value, "value", _("The score is a number from 0 to 100."))
    if not 0 <= number <= 100:
        raise ValidationFailed(_("The score is a number from 0 to 100."), field="value")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say what the score is based on."), field="note")
    before = {"value": row.value, "note": row.note, "total": result.total, "stars": result.stars}
    row.value, row.note = number, note
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


# -- reading -------------------------------------------------------------------------------


def get_evaluation(number: str) -> Evaluation:
    """Return the evaluation ``number``. :raises NotFound: there is none."""
    evaluation = db.session.scalar(
        select(Evaluation).where(Evaluation.number == (number or "").strip().upper())
    )
    if evaluation is None:
        raise NotFound(_("There is no evaluation %(number)s.", number=number))
    return evaluation


def get_result(evaluation: Evaluation, subject_key: str) -> EvaluationResult:
    """Return one subject's result. :raises NotFound: the evaluation did not score it."""
    for result in evaluation.results:
        if result.subject_key == str(subject_key):
            return result
    raise NotFound(
        _("%(number)s did not score %(subject)s.", number=evaluation.number, subject=subject_key)
    )


def list_evaluations(scheme_id: int | None = None, state: str | None = None):
    """Return a select() over evaluations, newest period first, with the given filters."""
    stmt = select(Evaluation)
    if scheme_id:
        stmt = stmt.where(Evaluation.scheme_id == scheme_id)
    if state:
        stmt = stmt.where(Evaluation.state == state)
    return stmt.order_by(Evaluation.period.desc(), Evaluation.id.desc())


def _confirmed(scheme: EvaluationScheme) -> list[Evaluation]:
    return list(
        db.session.scalars(
            select(Evaluation)
            .where(Evaluation.scheme_id == scheme.id, Evaluation.state == "confirmed")
            .order_by(Evaluation.period, Evaluation.confirmed_at, Evaluation.id)
        )
    )


def _standing(evaluations: list[Evaluation]) -> dict[str, Evaluation]:
    """The evaluation that stands for each period: the last confirmed correction."""
    standing: dict[str, Evaluation] = {}
    for evaluation in evaluations:  # oldest first: a correction confirms after what it corrects
        standing[evaluation.period] = evaluation
    return standing


def superseded_ids(evaluations) -> set[int]:
    """Return the ids of those of ``evaluations`` a confirmed correction has replaced.

    One query for all of them, for lists (rather than :func:`is_superseded` for each).
    """
    schemes = {e.scheme_id for e in evaluations if e.state == "confirmed"}
    if not schemes:
        return set()
    rows = db.session.execute(
        select(Evaluation.id, Evaluation.scheme_id, Evaluation.period)
        .where(Evaluation.scheme_id.in_(schemes), Evaluation.state == "confirmed")
        .order_by(Evaluation.period, Evaluation.confirmed_at, Evaluation.id)
    ).all()
    standing = {(scheme_id, period): ident for ident, scheme_id, period in rows}
    replaced = {ident for ident, _scheme, _period in rows} - set(standing.values())
    return replaced & {e.id for e in evaluations}


def current(scheme: EvaluationScheme, period: str) -> Evaluation | None:
    """Return the confirmed evaluation standing for ``period`` (none: not confirmed yet)."""
    return _standing([e for e in _confirmed(scheme) if e.period == period]).get(period)


def is_superseded(evaluation: Evaluation) -> bool:
    """Whether a confirmed correction has replaced this confirmed evaluation."""
    return (
        evaluation.state == "confirmed"
        and current(evaluation.scheme, evaluation.period) is not evaluation
    )


@dataclass
class Point:
    period: str
    total: float
    stars: int
    number: str


def history(scheme: EvaluationScheme, subject_key: str) -> list[Point]:
    """Return a subject's standing totals and stars, period by period, oldest first."""
    points = []
    for period, evaluation in sorted(_standing(_confirmed(scheme)).items()):
        for result in evaluation.results:
            if result.subject_key == str(subject_key):
                points.append(Point(period, result.total, result.stars, evaluation.number))
    return points

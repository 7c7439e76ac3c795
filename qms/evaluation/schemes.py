"""Evaluation schemes: what is scored, on which criteria, by which rules (admins only)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from qms import trail
from qms.auth.models import User
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.evaluation import labels, sources
from qms.evaluation.models import (
    DEFAULT_THRESHOLDS,
    DIRECTIONS,
    PERIODS,
    RULES,
    SUBJECT_KINDS,
    EvaluationScheme,
    SchemeCriterion,
)
from qms.evaluation.permissions import (
    can_manage_schemes,
)
from qms.evaluation.scoring import number
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

MAX_CRITERIA = 12

# -- checking what is given -----------------------------------------------------------------


def _thresholds(values) -> list[float]:
    message = _(
        "Give four star thresholds from 0 to 100, each lower than the one before "
        "(five, four, three and two stars)."
    )
    values = list(values or [])
    if len(values) != 4:
        raise ValidationFailed(message, field="thresholds")
    numbers = [number(v, "thresholds", message) for v in values]
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
        bound = number(pair[0], "criteria", message)
        points = number(pair[1], "criteria", message)
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
        row.target = number(item.get("target"), "criteria", message)
        row.zero = number(item.get("zero"), "criteria", message)
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

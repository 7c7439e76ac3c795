"""Reading evaluations: lookups, which one stands for a period, a subject's history."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from qms.errors import NotFound
from qms.evaluation.models import (
    Evaluation,
    EvaluationResult,
    EvaluationScheme,
)
from qms.extensions import db

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

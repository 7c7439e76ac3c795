"""Evaluation schemes an admin defines, and the evaluations run for a period.

Departments and windows belong to other domains: a result names its subject by kind and
key (a department's id, a window's code) and copies its name, so a result reads the same
after the subject is renamed. A result's criteria copy the scheme's label, weight and
rule, so a confirmed evaluation reads the same after the scheme changes.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

SUBJECT_KINDS = ("department", "window")
PERIODS = ("monthly", "quarterly", "yearly")
#: How a criterion's value maps to points (0–100): a straight line from the value that
#: scores nothing to the target (``linear``), or steps (``bands``).
RULES = ("linear", "bands")
DIRECTIONS = ("higher", "lower")
#: draft -> confirmed; a draft may be discarded, a confirmed evaluation never changes.
STATES = ("draft", "confirmed")
#: The default star thresholds: ★★★★★ ≥ 95, ★★★★ ≥ 85, ★★★ ≥ 75, ★★ ≥ 60, ★ below.
DEFAULT_THRESHOLDS = (95.0, 85.0, 75.0, 60.0)


class SchemeCriterion(db.Model):
    """One criterion of a scheme: where its value comes from, its weight and its rule."""

    __tablename__ = "evaluation_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_scheme.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(10), default="linear")
    direction: Mapped[str] = mapped_column(String(10), default="higher")
    target: Mapped[float | None] = mapped_column(Float)
    #: The value that scores no points (linear rule).
    zero: Mapped[float | None] = mapped_column(Float)
    #: ``[[bound, points], …]`` (bands rule): the first bound the value reaches scores.
    bands: Mapped[list] = mapped_column(JSON, default=list)
    #: What the source needs besides the subject and period (a record form's code, say).
    params: Mapped[dict] = mapped_column(JSON, default=dict)

    def rule_dict(self) -> dict:
        return {
            "rule": self.rule,
            "direction": self.direction,
            "target": self.target,
            "zero": self.zero,
            "bands": [list(b) for b in self.bands or []],
            "params": dict(self.params or {}),
        }


class EvaluationScheme(db.Model):
    """What departments or windows are scored on, how often, and the stars a total earns."""

    __tablename__ = "evaluation_scheme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    #: Four totals, descending: the least for five, four, three and two stars.
    thresholds: Mapped[list] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[SchemeCriterion]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by=(SchemeCriterion.position, SchemeCriterion.id),
    )

    def __str__(self) -> str:
        return self.name


class ResultCriterion(db.Model):
    """A subject's value and points on one criterion, with the evidence they came from."""

    __tablename__ = "evaluation_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_result.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)
    #: The criterion's rule as it was when the evaluation ran (see SchemeCriterion).
    rule: Mapped[dict] = mapped_column(JSON)
    value: Mapped[float | None] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="")
    #: The evaluator's note on a manual value.
    note: Mapped[str] = mapped_column(Text, default="")
    #: ``[{kind, ref, label, endpoint, args}]``: each item the value counted.
    evidence: Mapped[list] = mapped_column(JSON, default=list)


class EvaluationResult(db.Model):
    """One subject's weighted total and star level in an evaluation."""

    __tablename__ = "evaluation_result"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "subject_key", name="uq_evaluation_result_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation.id", ondelete="CASCADE"), index=True
    )
    subject_key: Mapped[str] = mapped_column(String(40), index=True)
    subject_name: Mapped[str] = mapped_column(String(200))
    total: Mapped[float] = mapped_column(Float, default=0.0)
    stars: Mapped[int] = mapped_column(Integer, default=1)

    evaluation: Mapped["Evaluation"] = relationship(back_populates="results")
    criteria: Mapped[list[ResultCriterion]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by=(ResultCriterion.position, ResultCriterion.id),
    )


class Evaluation(db.Model):
    """A scheme run for one period: a result per subject, confirmed once and then kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    thresholds: Mapped[list] = mapped_column(JSON)
    # The value before a change is loaded, so the flush guard below sees a confirmed one.
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True, active_history=True)
    #: The confirmed evaluation this one corrects, and why.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scheme: Mapped[EvaluationScheme] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    corrects: Mapped["Evaluation | None"] = relationship(remote_side=[id])
    results: Mapped[list[EvaluationResult]] = relationship(
        back_populates="evaluation",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by=(EvaluationResult.total.desc(), EvaluationResult.subject_name),
    )

    def __str__(self) -> str:
        return f"{self.number} {self.period}"


class ConfirmedEvaluationChanged(Exception):
    """A flush would change or delete a confirmed evaluation (a bug: services refuse first)."""


def _was_confirmed(evaluation: Evaluation) -> bool:
    """Whether the evaluation was confirmed before this unit of work touched it."""
    history = inspect(evaluation).attrs.state.load_history()
    before = history.deleted or history.unchanged
    return bool(before) and before[0] == "confirmed"


@event.listens_for(Session, "before_flush")
def _keep_confirmed_evaluations(session, _context, _instances) -> None:
    """Refuse any change to a confirmed evaluation, its results or their criteria.

    The services refuse first with a clear message; this is the backstop that keeps a
    confirmed evaluation as it was confirmed whatever code path writes.
    """
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, ResultCriterion):
            with session.no_autoflush:
                result = session.get(EvaluationResult, obj.result_id)
            evaluation = result.evaluation if result is not None else None
        elif isinstance(obj, EvaluationResult):
            evaluation = obj.evaluation
        elif isinstance(obj, Evaluation):
            evaluation = obj
        else:
            continue
        if evaluation is None or not _was_confirmed(evaluation):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        raise ConfirmedEvaluationChanged(f"{evaluation.number} is confirmed")

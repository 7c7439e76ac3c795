"""Quality objectives and their measurements: entered, imported, sent by API or computed."""

import csv
import io
import math
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import trail
from qms.auth.models import User
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.reviews import periods
from qms.reviews.labels import direction_label, source_label  # noqa: F401  (re-exported)
from qms.reviews.models import (
    DIRECTIONS,
    FREQUENCIES,
    MEASUREMENT_ORIGINS,
    OBJECTIVE_SOURCES,
    Measurement,
    Objective,
)
from qms.reviews.permissions import (  # noqa: F401  (re-exported)
    MANAGER_ROLES,
    can_measure,
    can_set_objectives,
    can_view_dashboard,
    is_manager,
)
from qms.uow import transactional

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _require_manager(actor: User) -> None:
    if not can_set_objectives(actor):
        raise PermissionDenied(_("Only the quality office (approver) or an administrator may."))


def _require_measurer(actor: User, objective: Objective) -> None:
    if not can_measure(actor, objective):
        raise PermissionDenied(
            _("Only the objective's owner or the quality office enters its measurements.")
        )


def get_objective(ident: int | str) -> Objective:
    """Return the objective by id or raise :class:`NotFound`."""
    objective = db.session.get(Objective, int(ident)) if str(ident).isdigit() else None
    if objective is None:
        raise NotFound(_("There is no objective %(id)s.", id=ident))
    return objective


def list_objectives(active_only: bool = True) -> list[Objective]:
    stmt = select(Objective).order_by(Objective.name)
    if active_only:
        stmt = stmt.where(Objective.active.is_(True))
    return list(db.session.scalars(stmt))


def _number(value, field: str, label: str) -> float:
    try:
        number = float(str(value).strip().replace(",", "")) if value is not None else None
    except ValueError:
        number = None
    if number is None or not math.isfinite(number):
        raise ValidationFailed(_("%(label)s must be a number.", label=label), field=field)
    return number


def _choice(value: str | None, allowed, field: str) -> str:
    value = (value or "").strip()
    if value not in allowed:
        raise ValidationFailed(
            _("Choose one of: %(allowed)s.", allowed=", ".join(allowed)), field=field
        )
    return value


def _owner(username: str | None) -> User | None:
    username = (username or "").strip()
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise ValidationFailed(_("There is no user %(name)s.", name=username), field="owner")
    return user


def _source_form(source: str, code: str | None) -> str | None:
    """The record form counting the outputs issued, which an "output_rate" source needs."""
    from qms.records import services as records

    if source != "output_rate":
        return None
    code = (code or "").strip()
    if code not in {doc.code for doc in records.forms()}:
        raise ValidationFailed(
            _("Choose the record form in force whose records are the outputs issued."),
            field="source_form",
        )
    return code


def _source_query(source: str, query) -> dict | None:
    """The checked query over a record form, which a "record_query" source needs."""
    from qms.reviews import record_query

    if source != "record_query":
        return None
    return record_query.check_query(query)


def _fields(
    name, unit, target, direction, frequency, source, method, owner, source_form=None, query=None
) -> dict:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the objective."), field="name")
    if len(name) > 200:
        raise ValidationFailed(_("At most 200 characters."), field="name")
    unit = (unit or "").strip()
    if len(unit) > 20:
        raise ValidationFailed(_("At most 20 characters."), field="unit")
    source = _choice(source or "manual", OBJECTIVE_SOURCES, "source")
    return {
        "name": name,
        "unit": unit,
        "target": _number(target, "target", _("The target")),
        "direction": _choice(direction, DIRECTIONS, "direction"),
        "frequency": _choice(frequency, FREQUENCIES, "frequency"),
        "source": source,
        "source_form": _source_form(source, source_form),
        "source_query": _source_query(source, query),
        "method": (method or "").strip(),
        "owner": _owner(owner),
    }


def _unique_name(name: str, objective: Objective | None = None) -> None:
    other = db.session.scalar(select(Objective).where(Objective.name == name))
    if other is not None and other is not objective:
        raise ValidationFailed(
            _("An objective named %(name)s already exists.", name=name), field="name"
        )


@transactional
def create_objective(
    actor: User,
    name: str,
    unit: str,
    target,
    direction: str,
    frequency: str,
    source: str = "manual",
    method: str = "",
    owner: str | None = None,
    source_form: str | None = None,
    query: dict | str | None = None,
) -> Objective:
    """Set a quality objective; the quality office and administrators may.

    ``query`` defines a "record_query" source (see :func:`record_query.check_query`).
    """
    _require_manager(actor)
    values = _fields(
        name, unit, target, direction, frequency, source, method, owner, source_form, query
    )
    _unique_name(values["name"])
    objective = Objective(**values, created_by_id=actor.id)
    db.session.add(objective)
    db.session.flush()
    trail.record(
        "objective.created",
        "objective",
        str(objective.id),
        after=_snapshot(objective),
        user=actor,
    )
    return objective


@transactional
def update_objective(actor: User, objective: Objective, **changes) -> Objective:
    """Change an objective's definition; earlier measurements are judged by the new target."""
    _require_manager(actor)
    before = _snapshot(objective)
    owner = changes.pop("owner", objective.owner.username if objective.owner else None)
    active = changes.pop("active", objective.active)
    values = _fields(
        changes.get("name", objective.name),
        changes.get("unit", objective.unit),
        changes.get("target", objective.target),
        changes.get("direction", objective.direction),
        changes.get("frequency", objective.frequency),
        changes.get("source", objective.source),
        changes.get("method", objective.method),
        owner,
        changes.get("source_form", objective.source_form),
        changes.get("query", objective.source_query),
    )
    _unique_name(values["name"], objective)
    if values["frequency"] != objective.frequency and objective.measurements:
        raise ValidationFailed(
            _("The frequency cannot change once measurements exist."), field="frequency"
        )
    for key, value in values.items():
        setattr(objective, key, value)
    objective.active = bool(active)
    trail.record(
        "objective.updated",
        "objective",
        str(objective.id),
        before=before,
        after=_snapshot(objective),
        user=actor,
    )
    return objective


def _snapshot(objective: Objective) -> dict:
    return {
        "name": objective.name,
        "unit": objective.unit,
        "target": objective.target,
        "direction": objective.direction,
        "frequency": objective.frequency,
        "source": objective.source,
        "source_form": objective.source_form,
        "query": objective.source_query,
        "owner": objective.owner.username if objective.owner else None,
        "active": objective.active,
    }


def _measurement(objective: Objective, period: str) -> Measurement | None:
    return db.session.scalar(
        select(Measurement).where(
            Measurement.objective_id == objective.id, Measurement.period == period
        )
    )


def _put(
    actor: User | None,
    objective: Objective,
    period: str,
    value: float,
    note: str,
    origin: str,
    records: dict | None = None,
) -> Measurement:
    """Write one measurement (replacing the period's earlier value) inside the transaction.

    ``records`` are the numbers of the records a computed value came from.
    """
    existing = _measurement(objective, period)
    before = {"value": existing.value, "note": existing.note} if existing else None
    if existing is None:
        existing = Measurement(objective=objective, period=period)
        db.session.add(existing)
    existing.value = value
    existing.note = note
    existing.origin = origin
    existing.records = records
    existing.entered_by_id = actor.id if actor else None
    existing.entered_at = utcnow()
    trail.record(
        "objective.measured",
        "objective",
        str(objective.id),
        before={"period": period, **before} if before else None,
        after={
            "period": period,
            "value": value,
            "note": note,
            "origin": origin,
            # How many records it came from; their numbers stay on the measurement.
            **(
                {"records": len(records["matched"]), "base": len(records["base"])}
                if records is not None
                else {}
            ),
        },
        user=actor,
    )
    return existing


@transactional
def record_measurement(
    actor: User, objective: Objective, period: str, value, note: str = "", origin: str = "browser"
) -> Measurement:
    """Record an objective's value for a period, replacing an earlier value of that period.

    :raises ValidationFailed: bad period for the frequency, a value that is no number, or an
        objective whose values are computed.
    :raises PermissionDenied: neither the owner nor the quality office.
    """
    _require_measurer(actor, objective)
    if objective.source != "manual":
        raise ValidationFailed(
            _("This objective's values are computed by the system, not entered."), field="value"
        )
    period = periods.check(period, objective.frequency)
    number = _number(value, "value", _("The value"))
    origin = origin if origin in MEASUREMENT_ORIGINS else "browser"
    measurement = _put(actor, objective, period, number, (note or "").strip(), origin)
    return measurement


@dataclass
class ImportResult:
    created: int
    replaced: int


@transactional
def import_csv(actor: User, objective: Objective, data: bytes | str) -> ImportResult:
    """Import ``period,value[,note]`` rows for one objective: all rows or none.

    :raises ValidationFailed: naming every bad line (the header is line 1) and its problem;
        nothing is written then.
    """
    _require_measurer(actor, objective)
    if objective.source != "manual":
        raise ValidationFailed(
            _("This objective's values are computed by the system, not entered."), field="file"
        )
    if isinstance(data, bytes):
        if len(data) > MAX_IMPORT_BYTES:
            raise ValidationFailed(_("The file is larger than 2 MB."), field="file")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(_("The file is not UTF-8 text."), field="file") from None
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["period", "value"]:
        raise ValidationFailed(
            _("The first line must be the header: period,value,note (note is optional)."),
            field="file",
        )
    rows, problems, seen = [], [], {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (3 - len(row))
        try:
            period = periods.check(cells[0], objective.frequency)
            if period in seen:
                raise ValidationFailed(
                    _(
                        "period %(period)s is already on line %(line)d",
                        period=period,
                        line=seen[period],
                    )
                )
            value = _number(cells[1], "value", _("The value"))
        except ValidationFailed as exc:
            problems.append(_("Line %(line)d: %(problem)s", line=line, problem=exc.message))
            continue
        seen[period] = line
        rows.append((period, value, cells[2].strip()))
    if problems:
        raise ValidationFailed(
            _("Nothing was imported. %(problems)s", problems=" ".join(problems)),
            field="file",
            detail={"lines": problems},
        )
    if not rows:
        raise ValidationFailed(_("The file has no rows to import."), field="file")
    replaced = 0
    for period, value, note in rows:
        replaced += _measurement(objective, period) is not None
        _put(actor, objective, period, value, note, "csv")
    return ImportResult(created=len(rows) - replaced, replaced=replaced)


@transactional
def refresh(objective: Objective, period: str, actor: User | None = None) -> Measurement | None:
    """Compute a survey-fed or system-computed objective's value for a period and store it.

    Returns None (and stores nothing) when there is nothing to compute it from.
    """
    from qms.reviews import feedback, figures, record_query

    if objective.source == "manual":
        return None
    period = periods.check(period, objective.frequency)
    start, end = periods.bounds(period)
    evidence = None
    if objective.source == "surveys":
        value = feedback.satisfaction(start, end)
        origin, note = "surveys", _("computed from the satisfaction surveys")
    elif objective.source == "record_query":
        outcome = record_query.evaluate(objective.source_query, start, end)
        value, origin, note, evidence = outcome.value, "computed", outcome.detail, outcome.evidence
    else:
        figure = figures.compute(objective.source, start, end, objective.source_form)
        value, origin, note = figure.value, "computed", figure.detail
    if value is None:
        return None
    existing = _measurement(objective, period)
    if existing is not None and existing.value == value and existing.records == evidence:
        return existing
    measurement = _put(actor, objective, period, value, note, origin, evidence)
    return measurement


def preview(query, frequency: str, period: str | None = None):
    """Compute a query (checked first) over a period, the current one by default, storing nothing.

    :raises ValidationFailed: the query or the period is not valid.
    """
    from qms import clock
    from qms.reviews import record_query

    checked = record_query.check_query(query)
    frequency = _choice(frequency, FREQUENCIES, "frequency")
    period = periods.check(period or periods.period_of(clock.today(), frequency), frequency)
    return period, record_query.evaluate(checked, *periods.bounds(period))


@dataclass
class Status:
    objective: Objective
    latest: Measurement | None
    #: The last :data:`RECENT` measurements, oldest first (what a sparkline draws).
    recent: list[Measurement] = field(default_factory=list)

    @property
    def meets(self) -> bool | None:
        return self.latest.meets_target if self.latest else None


#: How many of each objective's latest measurements a status carries.
RECENT = 12


def recent_measurements(objective_ids: list[int], n: int = RECENT) -> dict[int, list[Measurement]]:
    """Return each objective's last ``n`` measurements, oldest first, in one query.

    A window function ranks them in the database, so a list of objectives with years of
    monthly measurements loads 12 rows for each, not all of them.
    """
    found: dict[int, list[Measurement]] = {i: [] for i in objective_ids}
    if not objective_ids:
        return found
    if n == 1:
        # The latest alone: max(period) by objective walks the (objective, period) index.
        last = (
            select(Measurement.objective_id, func.max(Measurement.period).label("period"))
            .where(Measurement.objective_id.in_(objective_ids))
            .group_by(Measurement.objective_id)
            .subquery()
        )
        for measurement in db.session.scalars(
            select(Measurement).join(
                last,
                (last.c.objective_id == Measurement.objective_id)
                & (last.c.period == Measurement.period),
            )
        ):
            found[measurement.objective_id].append(measurement)
        return found
    rank = (
        func.row_number()
        .over(partition_by=Measurement.objective_id, order_by=Measurement.period.desc())
        .label("rank")
    )
    ranked = (
        select(Measurement.id, rank).where(Measurement.objective_id.in_(objective_ids)).subquery()
    )
    rows = db.session.scalars(
        select(Measurement)
        .join(ranked, ranked.c.id == Measurement.id)
        .where(ranked.c.rank <= n)
        .order_by(Measurement.objective_id, Measurement.period)
    )
    for measurement in rows:
        found[measurement.objective_id].append(measurement)
    return found


def statuses(objectives: list[Objective] | None = None, recent: int = RECENT) -> list[Status]:
    """Return each objective with its latest ``recent`` measurements."""
    objectives = objectives if objectives is not None else list_objectives()
    recent = recent_measurements([o.id for o in objectives], recent)
    return [Status(o, recent[o.id][-1] if recent[o.id] else None, recent[o.id]) for o in objectives]


def in_period(objective: Objective, start, end, overlap: bool = True) -> list[Measurement]:
    """Return the measurements whose period overlaps [start, end] (or lies within it)."""
    return [m for m in objective.measurements if periods.inside(m.period, start, end, overlap)]

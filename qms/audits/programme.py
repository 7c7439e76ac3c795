"""The audit programme of each year: its units, their risk and frequency, and coverage."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from qms import trail
from qms.audits import checklists
from qms.audits.common import clauses_of, clean_text, department_named
from qms.audits.models import (
    NC_RESULTS,
    RISK_LEVELS,
    UNIT_KINDS,
    Audit,
    AuditProgramme,
    ProgrammeUnit,
)
from qms.audits.permissions import can_keep_programme, require
from qms.auth.models import Department, User
from qms.clauses import in_order
from qms.errors import NotFound, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.risks import services as risk_register
from qms.uow import transactional


def get_programme(year: int) -> AuditProgramme | None:
    return db.session.scalar(select(AuditProgramme).where(AuditProgramme.year == year))


def _require_programme_owner(actor: User) -> None:
    require(
        can_keep_programme(actor),
        None,
        (),
        _("Only auditors and the quality office keep the audit programme."),
    )


@transactional
def save_programme(
    actor: User, year: int, objectives: str, scope: str, criteria: str
) -> AuditProgramme:
    """Create or update the programme of ``year``: objectives, scope and criteria."""
    _require_programme_owner(actor)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed(_("Give a year between 2000 and 2100."), field="year")
    programme = get_programme(year)
    before = None
    if programme is None:
        programme = AuditProgramme(year=year, created_by_id=actor.id)
        db.session.add(programme)
    else:
        before = {
            "objectives": programme.objectives,
            "scope": programme.scope,
            "criteria": programme.criteria,
        }
    programme.objectives = clean_text(objectives, "objectives")
    programme.scope = clean_text(scope, "scope")
    programme.criteria = clean_text(criteria, "criteria")
    programme.updated_at = utcnow()
    trail.record(
        "programme.saved",
        "audit_programme",
        str(year),
        before=before,
        after={
            "objectives": programme.objectives,
            "scope": programme.scope,
            "criteria": programme.criteria,
        },
        user=actor,
    )
    return programme


def suggested_frequency(risk: str, past_ncs: int) -> int:
    """Return audits per year for a unit: by risk, more where the last cycle found NCs.

    Low risk once a year, medium twice, high quarterly; one more with any NC found in the
    previous year, twice as often with three or more.
    """
    base = {"low": 1, "medium": 2, "high": 4}.get(risk, 2)
    if past_ncs >= 3:
        return min(base * 2, 12)
    if past_ncs >= 1:
        return base + 1
    return base


def weighed_risk(kind: str, name: str, risk: str) -> str:
    """Return a unit's risk weighed with the risk register: high while it has open high risks."""
    return "high" if risk_register.high_risk_counts().get((kind, name)) else risk


@transactional
def save_unit(
    actor: User,
    programme: AuditProgramme | int,
    kind: str,
    name: str,
    risk: str = "medium",
    frequency: int | None = None,
    clauses=(),
    notes: str = "",
) -> ProgrammeUnit:
    """Add a department or process to the programme, or update it (same kind and name).

    ``programme`` may be a year, whose programme is created when it has none yet.
    Without ``frequency`` the suggested one is taken.
    """
    _require_programme_owner(actor)
    if not isinstance(programme, AuditProgramme):
        programme = get_programme(programme) or save_programme(actor, programme, "", "", "")
    if kind not in UNIT_KINDS:
        raise ValidationFailed(_("Choose a department or a process."), field="kind")
    if risk not in RISK_LEVELS:
        raise ValidationFailed(
            _("The risk must be one of: %(levels)s.", levels=", ".join(RISK_LEVELS)), field="risk"
        )
    name = clean_text(name, "name", 120)
    dept = None
    if kind == "department":
        dept = department_named(name, "name")
    elif not name:
        raise ValidationFailed(_("Name the process."), field="name")
    clause_list = clauses_of(clauses)
    unit = next((u for u in programme.units if u.kind == kind and u.name == name), None)
    if unit is None:
        unit = ProgrammeUnit(kind=kind, name=name, department=dept)
        programme.units.append(unit)
    if frequency in (None, ""):
        frequency = suggested_frequency(
            weighed_risk(kind, name, risk), past_ncs(unit, programme.year)
        )
    if not 0 <= int(frequency) <= 52:
        raise ValidationFailed(_("Audits per year must be 0 to 52."), field="frequency")
    unit.risk = risk
    unit.frequency = int(frequency)
    unit.clauses = in_order(clause_list)
    unit.notes = clean_text(notes, "notes", 2000)
    trail.record(
        "programme.unit_saved",
        "audit_programme",
        str(programme.year),
        after={
            "kind": kind,
            "name": name,
            "risk": risk,
            "frequency": unit.frequency,
            "clauses": clause_list,
        },
        user=actor,
    )
    return unit


@transactional
def remove_unit(actor: User, programme: AuditProgramme, unit_id: int) -> None:
    """Take a department or process out of the programme."""
    _require_programme_owner(actor)
    unit = next((u for u in programme.units if u.id == unit_id), None)
    if unit is None:
        raise NotFound(_("That entry is not in the programme."))
    programme.units.remove(unit)
    trail.record(
        "programme.unit_removed",
        "audit_programme",
        str(programme.year),
        before={"kind": unit.kind, "name": unit.name},
        user=actor,
    )


def _covers_unit(audit: Audit, kind: str, name: str) -> bool:
    if kind == "department":
        return name in {d.name for d in audit.departments}
    return name in (audit.processes or [])


def past_ncs(unit: ProgrammeUnit, year: int) -> int:
    """Return how many NC findings the previous year's audits of this unit recorded."""
    audits = db.session.scalars(select(Audit).where(Audit.year == year - 1)).all()
    return sum(
        1
        for audit in audits
        if _covers_unit(audit, unit.kind, unit.name)
        for q in audit.questions
        if q.result in NC_RESULTS
    )


@dataclass
class CoverageRow:
    kind: str
    name: str
    unit: ProgrammeUnit | None
    # clause -> refs of the year's audits covering this row and clause
    cells: dict[str, list[str]]
    applicable: set[str]
    audits: list[str]
    # Open high risks of the register in this department or process.
    high_risks: int = 0

    @property
    def gaps(self) -> list[str]:
        """Clauses the programme expects audited here that no audit of the cycle covers."""
        return [c for c, refs in self.cells.items() if c in self.applicable and not refs]

    @property
    def in_programme(self) -> bool:
        return self.unit is not None

    @property
    def shortfall(self) -> int:
        """Audits still needed to reach the planned frequency."""
        planned = self.unit.frequency if self.unit else 1
        return max(planned - len(self.audits), 0)


@dataclass
class Coverage:
    year: int
    clauses: list[str]
    rows: list[CoverageRow]

    @property
    def gaps(self) -> list[tuple[str, str, str]]:
        """(kind, name, clause) for every uncovered cell the programme calls for."""
        return [(r.kind, r.name, c) for r in self.rows for c in r.gaps]

    @property
    def groups(self) -> list[tuple[str, int]]:
        """(main clause number, how many columns) for the header above the columns."""
        spans: list[tuple[str, int]] = []
        for clause in self.clauses:
            top = clause.split(".")[0]
            if spans and spans[-1][0] == top:
                spans[-1] = (top, spans[-1][1] + 1)
            else:
                spans.append((top, 1))
        return spans

    @property
    def uncovered_clauses(self) -> list[str]:
        """Clauses no audit of the cycle covers anywhere."""
        return [c for c in self.clauses if not any(r.cells[c] for r in self.rows)]


def coverage(year: int) -> Coverage:
    """Return the coverage matrix of ``year``: departments and processes against 4.1-10.3.

    Rows are the programme's departments and processes, then any department left out of
    the programme (flagged). A cell lists the audits of the year whose scope includes the
    row and a clause overlapping the column; a gap is an applicable cell with none.
    """
    columns = checklists.main_clauses()
    programme = get_programme(year)
    audits = db.session.scalars(select(Audit).where(Audit.year == year).order_by(Audit.ref)).all()
    units = list(programme.units) if programme else []
    rows = [(u.kind, u.name, u) for u in units]
    named = {u.name for u in units if u.kind == "department"}
    for dept in db.session.scalars(select(Department).order_by(Department.name)):
        if dept.name not in named:
            rows.append(("department", dept.name, None))
    # A process with high risks that the programme leaves out is shown, flagged.
    high = risk_register.high_risk_counts()
    in_programme = {(u.kind, u.name) for u in units}
    for kind, name in sorted(k for k in high if k[0] == "process" and k not in in_programme):
        rows.append((kind, name, None))
    result = []
    for kind, name, unit in rows:
        covering = [a for a in audits if _covers_unit(a, kind, name)]
        cells = {
            col: [a.ref for a in covering if any(checklists.related(col, c) for c in a.clauses)]
            for col in columns
        }
        wanted = unit.clauses if unit and unit.clauses else None
        applicable = {
            col
            for col in columns
            if wanted is None or any(checklists.related(col, c) for c in wanted)
        }
        if unit is not None and unit.frequency == 0:
            applicable = set()
        result.append(
            CoverageRow(
                kind,
                name,
                unit,
                cells,
                applicable,
                [a.ref for a in covering],
                high.get((kind, name), 0),
            )
        )
    return Coverage(year, columns, result)

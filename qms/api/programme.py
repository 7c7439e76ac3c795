"""API resources for the audit programme of a year: its units, the audits planned, coverage."""

from flask import abort, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.api.refusals import refusals
from qms.audits import services
from qms.audits.models import RISK_LEVELS, UNIT_KINDS
from qms.extensions import db

blp = Blueprint(
    "api_programme",
    __name__,
    url_prefix="/audit-programme",
    description="The audit programme (§9.2.2): units, risk, frequency, audits and coverage",
)
blp.before_request(authenticate)


class UnitSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    risk = fields.String()
    frequency = fields.Integer(metadata={"description": "Audits per year"})
    clauses = fields.List(fields.String())
    notes = fields.String()


class PlannedAuditSchema(Schema):
    ref = fields.String()
    title = fields.String()
    state = fields.String()
    planned_start = fields.Date()
    planned_end = fields.Date()
    departments = fields.Method("get_departments")
    processes = fields.List(fields.String())
    clauses = fields.List(fields.String())

    def get_departments(self, audit):
        return [d.name for d in audit.departments]


class CoverageRowSchema(Schema):
    kind = fields.String()
    name = fields.String()
    in_programme = fields.Boolean()
    audits = fields.List(fields.String())
    shortfall = fields.Integer(metadata={"description": "Audits still needed this year"})
    gaps = fields.List(fields.String(), metadata={"description": "Clauses not yet covered"})
    high_risks = fields.Integer()


class ProgrammeSchema(Schema):
    year = fields.Integer()
    exists = fields.Boolean(metadata={"description": "Whether the year's programme was saved"})
    objectives = fields.String()
    scope = fields.String()
    criteria = fields.String()
    units = fields.List(fields.Nested(UnitSchema))
    audits = fields.List(fields.Nested(PlannedAuditSchema))
    coverage = fields.List(fields.Nested(CoverageRowSchema))
    uncovered_clauses = fields.List(fields.String())


class ProgrammeSaveSchema(Schema):
    objectives = fields.String(load_default="", validate=validate.Length(max=20000))
    scope = fields.String(load_default="", validate=validate.Length(max=20000))
    criteria = fields.String(load_default="", validate=validate.Length(max=20000))


class UnitSaveSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    name = fields.String(required=True, validate=validate.Length(max=120))
    risk = fields.String(load_default="medium", validate=validate.OneOf(RISK_LEVELS))
    frequency = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=52),
        metadata={"description": "Audits per year; the suggested one when left out"},
    )
    clauses = fields.List(fields.String(), load_default=list)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


def _year(year: int) -> int:
    # As on the programme page: a year out of this range has no programme to show.
    if not 2000 <= year <= 2100:
        abort(404)
    return year


def _programme(year: int) -> dict:
    """Return the year's programme, its audits and coverage, saved or not."""
    prog = services.get_programme(year)
    if prog is not None:
        db.session.refresh(prog)
    cover = services.coverage(year)
    return {
        "year": year,
        "exists": prog is not None,
        "objectives": prog.objectives if prog else "",
        "scope": prog.scope if prog else "",
        "criteria": prog.criteria if prog else "",
        "units": list(prog.units) if prog else [],
        "audits": db.session.scalars(services.list_audits(year)).all(),
        "coverage": cover.rows,
        "uncovered_clauses": cover.uncovered_clauses,
    }


@blp.route("/<int:year>")
class Programme(MethodView):
    @blp.response(200, ProgrammeSchema)
    @refusals(blp, 404)
    def get(self, year):
        """Show the year's programme, the audits planned in it and what they cover."""
        return _programme(_year(year))

    @blp.arguments(ProgrammeSaveSchema)
    @blp.response(200, ProgrammeSchema)
    @refusals(blp, 403, 404)
    def put(self, data, year):
        """Save the year's objectives, scope and criteria (auditors and quality office)."""
        services.save_programme(
            g.api_user, _year(year), data["objectives"], data["scope"], data["criteria"]
        )
        return _programme(year)


@blp.route("/<int:year>/units", methods=["POST"])
@blp.arguments(UnitSaveSchema)
@blp.response(201, UnitSchema)
@refusals(blp, 403, 404)
def post_unit(data, year):
    """Add a department or process to the programme, or update it (same kind and name)."""
    return services.save_unit(
        g.api_user,
        _year(year),
        data["kind"],
        data["name"],
        data["risk"],
        data["frequency"],
        data["clauses"],
        data["notes"],
    )


@blp.route("/<int:year>/units/<int:unit_id>", methods=["DELETE"])
@blp.response(204)
@refusals(blp, 403, 404)
def delete_unit(year, unit_id):
    """Take a department or process out of the programme."""
    prog = services.get_programme(_year(year))
    if prog is None:
        abort(404)
    services.remove_unit(g.api_user, prog, unit_id)
    return None

"""API resources for quality objectives and their measurements."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.reviews import objectives
from qms.reviews.models import DIRECTIONS, FREQUENCIES, OBJECTIVE_SOURCES, Objective

blp = Blueprint(
    "api_objectives",
    __name__,
    url_prefix="/objectives",
    description="Quality objectives and their measurements per period",
)
blp.before_request(authenticate)


class MeasurementSchema(Schema):
    period = fields.String()
    value = fields.Float()
    note = fields.String()
    origin = fields.String()
    meets_target = fields.Boolean(allow_none=True)
    entered_by = fields.Method("get_entered_by")
    entered_at = fields.DateTime()
    records = fields.Dict(
        allow_none=True,
        metadata={
            "description": "For a value computed by a record query: the numbers of the "
            "records counted (matched) and of the base records of a ratio (base)."
        },
    )

    def get_entered_by(self, m):
        return m.entered_by.username if m.entered_by else None


class ObjectiveSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    target = fields.Float()
    direction = fields.String()
    frequency = fields.String()
    source = fields.String()
    source_form = fields.String(allow_none=True)
    query = fields.Dict(attribute="source_query", allow_none=True)
    method = fields.String()
    owner = fields.Method("get_owner")
    active = fields.Boolean()

    def get_owner(self, objective: Objective):
        return objective.owner.username if objective.owner else None


class ObjectiveDetailSchema(ObjectiveSchema):
    measurements = fields.List(fields.Nested(MeasurementSchema))


class ObjectiveListSchema(Schema):
    items = fields.List(fields.Nested(ObjectiveSchema))


class ObjectiveCreateSchema(Schema):
    name = fields.String(required=True)
    unit = fields.String(load_default="")
    target = fields.Float(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    source = fields.String(load_default="manual", validate=validate.OneOf(OBJECTIVE_SOURCES))
    method = fields.String(load_default="")
    owner = fields.String(load_default=None, allow_none=True)
    source_form = fields.String(load_default=None, allow_none=True)
    query = fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={
            "description": 'For source "record_query": {"form": code, "measure": "count" or '
            '"ratio", "factor": 1, 100 or 1000, "date": a date field or "submitted_at", '
            '"conditions": [{"field", "op", "value" or "other"}], "base": [...]}; op is one '
            "of eq, ne, in, not_in, empty, not_empty, gt, ge, lt, le."
        },
    )


class MeasurementCreateSchema(Schema):
    period = fields.String(required=True)
    value = fields.Float(required=True)
    note = fields.String(load_default="")


@blp.route("")
class Objectives(MethodView):
    @blp.response(200, ObjectiveListSchema)
    def get(self):
        """List the active objectives."""
        return {"items": objectives.list_objectives()}

    @blp.arguments(ObjectiveCreateSchema)
    @blp.response(201, ObjectiveDetailSchema)
    def post(self, data):
        """Set a quality objective (quality office or administrator)."""
        return objectives.create_objective(
            g.api_user,
            data["name"],
            data["unit"],
            data["target"],
            data["direction"],
            data["frequency"],
            data["source"],
            data["method"],
            data["owner"],
            data["source_form"],
            data["query"],
        )


@blp.route("/<int:ident>")
@blp.response(200, ObjectiveDetailSchema)
def get_objective(ident):
    """Show an objective with its measurements and whether each meets the target."""
    return objectives.get_objective(ident)


@blp.route("/<int:ident>/measurements", methods=["POST"])
@blp.arguments(MeasurementCreateSchema)
@blp.response(201, MeasurementSchema)
def post_measurement(data, ident):
    """Record the value of one period (``2026-10``, ``2026-Q3`` or ``2026``)."""
    objective = objectives.get_objective(ident)
    return objectives.record_measurement(
        g.api_user, objective, data["period"], data["value"], data["note"], origin="api"
    )

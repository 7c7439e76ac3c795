"""API resources for the register of risks and opportunities (ISO 9001 §6.1)."""

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.auth.models import Department
from qms.auth.services import active_user_named
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.risks import services
from qms.risks.models import KINDS, LEVELS, STATUSES

blp = Blueprint(
    "api_risks",
    __name__,
    url_prefix="",
    description="Risks and opportunities: the register, treatment by actions, status changes",
)
blp.before_request(authenticate)


class RiskSchema(Schema):
    number = fields.String()
    kind = fields.String()
    title = fields.String()
    cause = fields.String()
    effect = fields.String()
    department = fields.Function(lambda r: r.department.name if r.department else None)
    process = fields.String()
    likelihood = fields.Integer()
    impact = fields.Integer()
    score = fields.Integer()
    level = fields.String()
    treatment = fields.String()
    residual_likelihood = fields.Integer(allow_none=True)
    residual_impact = fields.Integer(allow_none=True)
    residual_score = fields.Integer(allow_none=True)
    residual_level = fields.String(allow_none=True)
    current_level = fields.String()
    status = fields.String()
    status_note = fields.String()
    owner = fields.Function(lambda r: r.owner.username)
    review_date = fields.Date()
    actions = fields.Function(lambda r: [a.number for a in services.actions_of(r)])
    audits = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RiskPageSchema(Schema):
    items = fields.List(fields.Nested(RiskSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class RiskQuerySchema(PagingQuery):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    level = fields.String(
        load_default=None,
        validate=validate.OneOf(LEVELS),
        metadata={"description": "The level that counts now (after treatment where assessed)"},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    department = fields.String(load_default=None, metadata={"description": "Department name"})
    process = fields.String(load_default=None)
    owner = fields.String(load_default=None, metadata={"description": "Owner's username"})


class RiskCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    cause = fields.String(load_default="")
    effect = fields.String(load_default="")
    department = fields.String(load_default=None, allow_none=True)
    process = fields.String(load_default="")
    likelihood = fields.Integer(required=True)
    impact = fields.Integer(required=True)
    treatment = fields.String(load_default="")
    owner = fields.String(required=True)
    review_date = fields.Date(required=True)


class RiskChangeSchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    title = fields.String()
    cause = fields.String()
    effect = fields.String()
    department = fields.String(allow_none=True)
    process = fields.String()
    likelihood = fields.Integer()
    impact = fields.Integer()
    treatment = fields.String()
    residual_likelihood = fields.Integer(allow_none=True)
    residual_impact = fields.Integer(allow_none=True)
    owner = fields.String()
    review_date = fields.Date()


class RiskStatusSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = fields.String(load_default="")


class RiskActionSchema(Schema):
    title = fields.String(required=True)
    owner = fields.String(required=True)
    due_date = fields.Date(required=True)
    description = fields.String(load_default="")
    effectiveness_criteria = fields.String(load_default=None, allow_none=True)


class RaisedActionSchema(Schema):
    number = fields.String()
    action_type = fields.String()
    origin = fields.String()
    origin_ref = fields.String()
    state = fields.String()


class RaisedActionListSchema(Schema):
    items = fields.List(fields.Nested(RaisedActionSchema))


@blp.route("/risks")
class Risks(MethodView):
    @blp.arguments(RiskQuerySchema, location="query")
    @blp.response(200, RiskPageSchema)
    def get(self, args):
        """List the register, filtered by department, process, level, kind, status, owner."""
        f = services.RiskFilters(
            kind=args["kind"], level=args["level"], status=args["status"], process=args["process"]
        )
        if args["department"]:
            dept = db.session.scalar(
                db.select(Department).where(Department.name == args["department"])
            )
            if dept is None:
                raise ValidationFailed(
                    _("There is no department %(name)s.", name=args["department"]),
                    field="department",
                )
            f.department_id = dept.id
        if args["owner"]:
            f.owner_id = active_user_named(args["owner"], "owner").id
        return page_of(services.select_risks(f), args)

    @blp.arguments(RiskCreateSchema)
    @blp.response(201, RiskSchema)
    def post(self, data):
        """Add a risk or an opportunity (quality office); score and level come from the matrix."""
        return services.add_risk(g.api_user, **data)


@blp.route("/risks/<number>")
class RiskOne(MethodView):
    @blp.response(200, RiskSchema)
    def get(self, number):
        """Show one entry with its actions."""
        return services.get_risk(number)

    @blp.arguments(RiskChangeSchema)
    @blp.response(200, RiskSchema)
    def patch(self, data, number):
        """Change an entry, its score or its residual score after treatment (owner, office)."""
        return services.update_risk(g.api_user, services.get_risk(number), **data)


@blp.route("/risks/<number>/status")
class RiskStatus(MethodView):
    @blp.arguments(RiskStatusSchema)
    @blp.response(200, RiskSchema)
    def post(self, data, number):
        """Move an entry: open -> treated | accepted -> closed, or reopen it."""
        return services.change_status(
            g.api_user, services.get_risk(number), data["to"], data["note"]
        )


@blp.route("/risks/<number>/actions")
class RiskActions(MethodView):
    @blp.response(200, RaisedActionListSchema)
    def get(self, number):
        """List the actions raised from the entry."""
        return {"items": services.actions_of(services.get_risk(number))}

    @blp.arguments(RiskActionSchema)
    @blp.response(201, RaisedActionSchema)
    def post(self, data, number):
        """Raise a preventive (or, for an opportunity, improvement) action from the entry."""
        return services.raise_action(g.api_user, services.get_risk(number), **data)

"""API resources for the register of external providers: list, add, change, status, evaluate."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.suppliers import services
from qms.suppliers.models import INITIAL_STATUSES, STATUSES

blp = Blueprint(
    "api_suppliers",
    __name__,
    url_prefix="/suppliers",
    description="External providers (§8.4): register, approval status, evaluations",
)
blp.before_request(authenticate)


class CriterionSchema(Schema):
    name = fields.String(required=True)
    weight = fields.Integer(required=True, validate=validate.Range(min=1, max=100))


class ScoreSchema(Schema):
    criterion = fields.String()
    weight = fields.Integer()
    score = fields.Integer()


class EvaluationSchema(Schema):
    evaluated_on = fields.Date()
    total = fields.Float()
    comment = fields.String()
    evaluated_by = fields.Function(lambda e: e.evaluated_by.username)
    scores = fields.List(fields.Nested(ScoreSchema))


class SupplierStatusChangeSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String()
    changed_by = fields.Function(lambda c: c.changed_by.username)
    changed_at = fields.DateTime()


class SupplierSchema(Schema):
    number = fields.String()
    name = fields.String()
    supplies = fields.String()
    controls = fields.String()
    status = fields.String()
    owner = fields.Function(lambda s: s.owner.username)
    evaluation_months = fields.Integer()
    next_evaluation_due = fields.Date()
    latest_score = fields.Function(
        lambda s: s.latest_evaluation.total if s.latest_evaluation else None, allow_none=True
    )
    criteria = fields.List(fields.Nested(CriterionSchema))
    documents = fields.List(fields.String())
    suspension_proposed = fields.Method("get_proposed")

    def get_proposed(self, supplier) -> list[str]:
        """Why suspension is proposed (empty when it is not); a person decides."""
        return list(services.proposal(supplier).reasons)


class SupplierDetailSchema(SupplierSchema):
    evaluations = fields.List(fields.Nested(EvaluationSchema))
    status_changes = fields.List(fields.Nested(SupplierStatusChangeSchema))
    nonconformities = fields.Function(lambda s: [nc.number for nc in services.ncs_of(s)])


class SupplierListSchema(Schema):
    items = fields.List(fields.Nested(SupplierSchema))


class SupplierQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    q = fields.String(load_default=None)
    due = fields.Boolean(load_default=False)
    proposed = fields.Boolean(
        load_default=False, metadata={"description": "Only those proposed for suspension."}
    )


class SupplierCreateSchema(Schema):
    name = fields.String(required=True)
    supplies = fields.String(required=True)
    owner = fields.String(required=True)
    controls = fields.String(load_default="")
    status = fields.String(load_default="conditional", validate=validate.OneOf(INITIAL_STATUSES))
    evaluation_months = fields.Integer(load_default=12)
    criteria = fields.List(fields.Nested(CriterionSchema), load_default=list)
    documents = fields.List(fields.String(), load_default=list)


class SupplierChangeSchema(Schema):
    name = fields.String()
    supplies = fields.String()
    owner = fields.String()
    controls = fields.String()
    evaluation_months = fields.Integer()
    criteria = fields.List(fields.Nested(CriterionSchema))
    documents = fields.List(fields.String())


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String(required=True)


class EvaluateSchema(Schema):
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "A score 0–100 for each criterion, by criterion name."},
    )
    evaluated_on = fields.Date(load_default=None, allow_none=True)
    comment = fields.String(load_default="")


@blp.route("")
class Suppliers(MethodView):
    @blp.arguments(SupplierQuerySchema, location="query")
    @blp.response(200, SupplierListSchema)
    def get(self, args):
        """List the providers, filtered by status, text, evaluation due or proposal."""
        proposed = args.pop("proposed")
        items = services.list_suppliers(**args)
        proposals = services.proposals(items)
        if proposed:
            items = [s for s in items if proposals[s.id]]
        return {"items": items}

    @blp.arguments(SupplierCreateSchema)
    @blp.response(201, SupplierDetailSchema)
    def post(self, data):
        """Add a provider (quality office); its first evaluation is due at once."""
        return services.add_supplier(g.api_user, **data)


@blp.route("/<number>")
class SupplierOne(MethodView):
    @blp.response(200, SupplierDetailSchema)
    def get(self, number):
        """Show a provider with its evaluations, status history and NCs."""
        return services.get_supplier(number)

    @blp.arguments(SupplierChangeSchema)
    @blp.response(200, SupplierDetailSchema)
    def patch(self, data, number):
        """Change a provider's details, criteria or governing documents (quality office)."""
        return services.change_supplier(g.api_user, services.get_supplier(number), **data)


@blp.route("/<number>/status", methods=["POST"])
@blp.arguments(StatusSchema)
@blp.response(200, SupplierDetailSchema)
def change_status(data, number):
    """Approve, put on condition or suspend a provider, with a reason (quality office)."""
    return services.change_status(g.api_user, services.get_supplier(number), **data)


@blp.route("/<number>/evaluations", methods=["POST"])
@blp.arguments(EvaluateSchema)
@blp.response(201, EvaluationSchema)
def evaluate(data, number):
    """Record an evaluation: a score on each criterion; the next one falls due after it."""
    return services.evaluate(g.api_user, services.get_supplier(number), **data)

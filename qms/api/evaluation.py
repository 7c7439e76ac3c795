"""API resources of supervision and evaluation: schemes, evaluations and their evidence."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.evaluation import services, sources
from qms.evaluation.models import STATES

blp = Blueprint(
    "api_evaluations",
    __name__,
    url_prefix="/evaluations",
    description="Supervision and evaluation: schemes, results with star levels and evidence",
)
blp.before_request(authenticate)


class EvaluationCriterionSchema(Schema):
    source = fields.String()
    label = fields.String()
    weight = fields.Integer()
    rule = fields.String()
    direction = fields.String()
    target = fields.Float(allow_none=True)
    zero = fields.Float(allow_none=True)
    bands = fields.List(fields.List(fields.Float()))
    params = fields.Dict(keys=fields.String(), values=fields.String())


class EvaluationSchemeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    subject_kind = fields.String()
    period = fields.String()
    thresholds = fields.List(
        fields.Float(), metadata={"description": "Least totals for ★★★★★, ★★★★, ★★★ and ★★"}
    )
    criteria = fields.List(fields.Nested(EvaluationCriterionSchema))


class EvaluationSchemeListSchema(Schema):
    items = fields.List(fields.Nested(EvaluationSchemeSchema))


class EvaluationEvidenceSchema(Schema):
    kind = fields.String()
    ref = fields.String()
    label = fields.String()
    url = fields.Function(lambda e: sources.evidence_url(e), allow_none=True)


class EvaluationScoreSchema(Schema):
    position = fields.Integer()
    source = fields.String()
    label = fields.String()
    weight = fields.Integer()
    value = fields.Float(allow_none=True)
    points = fields.Float()
    detail = fields.String()
    note = fields.String()
    evidence = fields.List(fields.Nested(EvaluationEvidenceSchema))


class EvaluationResultSchema(Schema):
    subject_key = fields.String()
    subject_name = fields.String()
    total = fields.Float()
    stars = fields.Integer()
    criteria = fields.List(fields.Nested(EvaluationScoreSchema))


class EvaluationRunSchema(Schema):
    number = fields.String()
    scheme = fields.Function(lambda e: e.scheme.name)
    scheme_id = fields.Integer()
    subject_kind = fields.String()
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    state = fields.String()
    superseded = fields.Function(
        lambda e: e.id in e._superseded if hasattr(e, "_superseded") else services.is_superseded(e),
        metadata={"description": "Replaced by a confirmed correction"},
    )
    corrects = fields.Function(lambda e: e.corrects.number if e.corrects else None, allow_none=True)
    reason = fields.String()
    created_by = fields.Function(lambda e: e.created_by.username)
    confirmed_at = fields.DateTime(allow_none=True)
    thresholds = fields.List(fields.Float())


class EvaluationRunDetailSchema(EvaluationRunSchema):
    results = fields.List(fields.Nested(EvaluationResultSchema))


class EvaluationRunPageSchema(Schema):
    items = fields.List(fields.Nested(EvaluationRunSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class EvaluationRunQuery(PagingQuery):
    scheme = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    state = fields.String(validate=validate.OneOf(STATES))


@blp.route("/schemes")
@blp.response(200, EvaluationSchemeListSchema)
def list_schemes():
    """List the evaluation schemes with their criteria and star thresholds."""
    return {"items": services.list_schemes()}


@blp.route("")
class Evaluations(MethodView):
    @blp.arguments(EvaluationRunQuery, location="query")
    @blp.response(200, EvaluationRunPageSchema)
    def get(self, args):
        """List the evaluations, newest period first."""
        stmt = services.list_evaluations(scheme_id=args.get("scheme"), state=args.get("state"))
        page = page_of(stmt, args)
        # Which of the page were corrected, in one query rather than one per item.
        replaced = services.superseded_ids(page["items"])
        for evaluation in page["items"]:
            evaluation._superseded = replaced
        return page


@blp.route("/<number>")
@blp.response(200, EvaluationRunDetailSchema)
def get_evaluation(number):
    """Show an evaluation: each subject's total, stars, criteria and the evidence counted."""
    return services.get_evaluation(number)

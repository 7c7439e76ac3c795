"""API resources for customer feedback: complaints and satisfaction survey results."""

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qms.api import PagingQuery, authenticate, page_list, page_of
from qms.api.refusals import refusals
from qms.auth.models import Department
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.reviews import feedback
from qms.reviews.models import CHANNELS, Complaint

blp = Blueprint(
    "api_feedback",
    __name__,
    description="Customer feedback (§9.1.2): complaints and satisfaction surveys",
)
blp.before_request(authenticate)


class ComplaintSchema(Schema):
    number = fields.String()
    channel = fields.String()
    received_on = fields.Date()
    department = fields.String(attribute="department.name")
    response_due = fields.Date()
    answered = fields.Method("get_answered")
    satisfied = fields.Boolean(allow_none=True)
    nc = fields.String(attribute="nc_number", allow_none=True)

    def get_answered(self, complaint: Complaint) -> bool:
        return complaint.response is not None


class ComplaintDetailSchema(ComplaintSchema):
    person = fields.String(allow_none=True)
    content = fields.String()
    response = fields.String(allow_none=True)
    responded_on = fields.Date(allow_none=True)
    responded_by = fields.Method("get_responded_by")
    raised_by = fields.String(attribute="raised_by.username")
    created_at = fields.DateTime()

    def get_responded_by(self, complaint: Complaint):
        return complaint.responded_by.username if complaint.responded_by else None


class ComplaintPageSchema(Schema):
    items = fields.List(fields.Nested(ComplaintSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class ComplaintListQuery(PagingQuery):
    open = fields.Boolean(
        load_default=False, metadata={"description": "Only those not yet answered"}
    )
    department = fields.String(metadata={"description": "Only this department's, by name"})


class ComplaintCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    received_on = fields.Date(required=True)
    content = fields.String(required=True)
    department = fields.String(required=True, metadata={"description": "Department concerned"})
    person = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    response_due = fields.Date(load_default=None, allow_none=True)


class ResponseSchema(Schema):
    response = fields.String(required=True)
    satisfied = fields.Boolean(
        load_default=None, allow_none=True, metadata={"description": "Once the customer says"}
    )


class RaisedNcSchema(Schema):
    complaint = fields.String()
    nc = fields.String()


class SurveySchema(Schema):
    id = fields.Integer()
    period = fields.String()
    service = fields.String()
    responses = fields.Integer()
    score = fields.Float()
    entered_at = fields.DateTime()


class SurveyPageSchema(Schema):
    items = fields.List(fields.Nested(SurveySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class SurveyListQuery(PagingQuery):
    period = fields.String(metadata={"description": "Only this period (2026-10, 2026-Q3, 2026)"})


class SurveyCreateSchema(Schema):
    period = fields.String(required=True, validate=validate.Length(max=10))
    service = fields.String(required=True, validate=validate.Length(max=200))
    responses = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    score = fields.Float(required=True, metadata={"description": "Percentage, 0 to 100"})


@blp.route("/complaints")
class Complaints(MethodView):
    @blp.arguments(ComplaintListQuery, location="query")
    @blp.response(200, ComplaintPageSchema)
    def get(self, args):
        """List the complaints the caller sees, newest first; ``open`` for those unanswered."""
        department_id = None
        if args.get("department"):
            department_id = db.session.scalar(
                select(Department.id).where(Department.name == args["department"])
            )
            if department_id is None:
                raise ValidationFailed(
                    _("There is no department %(name)s.", name=args["department"]), "department"
                )
        stmt = feedback.list_complaints(
            open_only=args["open"], department_id=department_id, viewer=g.api_user
        )
        return page_of(stmt, args)

    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintDetailSchema)
    def post(self, data):
        """Register a complaint as received; anyone may."""
        return feedback.register_complaint(
            g.api_user,
            data["channel"],
            data["received_on"],
            data["content"],
            data["department"],
            person=data["person"],
            response_due=data["response_due"],
        )


@blp.route("/complaints/<number>")
@blp.response(200, ComplaintDetailSchema)
@refusals(blp, 404)
def get_complaint(number):
    """Show a complaint; one out of the caller's sight answers 404, as on its page."""
    return feedback.get_complaint(number, viewer=g.api_user)


@blp.route("/complaints/<number>/response", methods=["POST"])
@blp.arguments(ResponseSchema)
@blp.response(200, ComplaintDetailSchema)
@refusals(blp, 403, 404)
def post_response(data, number):
    """Record the response given (department concerned or quality office)."""
    complaint = feedback.get_complaint(number, viewer=g.api_user)
    feedback.respond(g.api_user, complaint, data["response"], data["satisfied"])
    db.session.refresh(complaint)
    return complaint


@blp.route("/complaints/<number>/nc", methods=["POST"])
@blp.response(201, RaisedNcSchema)
@refusals(blp, 404, 409)
def post_nc(number):
    """Raise a nonconformity from the complaint (once)."""
    complaint = feedback.get_complaint(number, viewer=g.api_user)
    nc = feedback.raise_nc(g.api_user, complaint)
    return {"complaint": number, "nc": nc}


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.arguments(SurveyListQuery, location="query")
    @blp.response(200, SurveyPageSchema)
    def get(self, args):
        """List the survey results, latest period first."""
        period = (args.get("period") or "").strip().upper()
        items = [s for s in feedback.list_surveys() if not period or s.period == period]
        return page_list(items, args)

    @blp.arguments(SurveyCreateSchema)
    @blp.response(201, SurveySchema)
    @refusals(blp, 403)
    def post(self, data):
        """Record (or correct) the result of one service in one period (quality office)."""
        return feedback.record_survey(
            g.api_user, data["period"], data["service"], data["responses"], data["score"]
        )


@blp.route("/surveys/<int:ident>")
@blp.response(200, SurveySchema)
@refusals(blp, 404)
def get_survey(ident):
    """Show one survey result."""
    return feedback.get_survey(ident)

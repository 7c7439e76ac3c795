"""API resources for management reviews: plan, texts, compile, hold, decide, sign minutes."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_list
from qms.api.refusals import refusals
from qms.extensions import db
from qms.improvement.models import ACTION_TYPES
from qms.reviews import inputs as review_inputs
from qms.reviews import services
from qms.reviews.models import DECISION_KINDS, REVIEW_STATES, Review

blp = Blueprint(
    "api_reviews",
    __name__,
    url_prefix="/reviews",
    description="Management reviews (§9.3): inputs, meeting, decisions, signed minutes",
)
blp.before_request(authenticate)


class ReviewDecisionSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.String()
    actions = fields.List(fields.String())
    created_at = fields.DateTime()


class ReviewSchema(Schema):
    number = fields.String()
    title = fields.String()
    state = fields.String()
    planned_on = fields.Date()
    period_start = fields.Date()
    period_end = fields.Date()
    chair = fields.String(attribute="chair.username")
    held_on = fields.Date(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)


class ReviewDetailSchema(ReviewSchema):
    attendees = fields.Method("get_attendees")
    notes = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "The inputs written as text, by §9.3.2 section key"},
    )
    inputs = fields.Dict(
        allow_none=True,
        metadata={"description": "The inputs compiled from the system; frozen once held"},
    )
    prepared_at = fields.DateTime(allow_none=True)
    discussion = fields.String()
    decisions = fields.List(fields.Nested(ReviewDecisionSchema))
    minutes_sha256 = fields.String(allow_none=True)

    def get_attendees(self, review: Review):
        return [u.username for u in review.attendees]


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class ReviewListQuery(PagingQuery):
    state = fields.String(validate=validate.OneOf(REVIEW_STATES))
    year = fields.Integer(validate=validate.Range(min=1900, max=9999))


class ReviewCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(max=300))
    planned_on = fields.Date(required=True)
    chair = fields.String(required=True, metadata={"description": "An approver's username"})
    attendees = fields.List(fields.String(), load_default=list)
    period_start = fields.Date(load_default=None, allow_none=True)
    period_end = fields.Date(load_default=None, allow_none=True)


class NotesSchema(Schema):
    notes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(review_inputs.SECTION_KEYS)),
        values=fields.String(),
        required=True,
        metadata={"description": "Text by §9.3.2 section key; a key left out is emptied"},
    )


class HoldSchema(Schema):
    held_on = fields.Date(load_default=None, allow_none=True)
    discussion = fields.String(load_default="")


class PlannedActionSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTION_TYPES))
    title = fields.String(required=True, validate=validate.Length(max=300))
    owner = fields.String(required=True)
    due_date = fields.Date(required=True)


class ReviewDecisionCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DECISION_KINDS))
    text = fields.String(required=True)
    action = fields.Nested(
        PlannedActionSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "An action decided with it: both are recorded, or neither"},
    )


class ReviewDecisionResultSchema(ReviewDecisionSchema):
    action = fields.String(allow_none=True)


class ApproveMinutesSchema(Schema):
    password = fields.String(required=True, metadata={"description": "The chair's password"})


def _detail(review: Review) -> Review:
    """Return the review reloaded, so the response shows what was committed."""
    db.session.refresh(review)
    return review


@blp.route("")
class Reviews(MethodView):
    @blp.arguments(ReviewListQuery, location="query")
    @blp.response(200, ReviewPageSchema)
    def get(self, args):
        """List the management reviews, latest meeting first, by state and year."""
        items = [
            r
            for r in services.list_reviews()
            if (not args.get("state") or r.state == args["state"])
            and (not args.get("year") or r.planned_on.year == args["year"])
        ]
        return page_list(items, args)

    @blp.arguments(ReviewCreateSchema)
    @blp.response(201, ReviewDetailSchema)
    @refusals(blp, 403)
    def post(self, data):
        """Plan a review meeting (quality office); the period runs from the previous one."""
        return services.plan_review(
            g.api_user,
            data["title"],
            data["planned_on"],
            data["chair"],
            data["attendees"],
            period_start=data["period_start"],
            period_end=data["period_end"],
        )


@blp.route("/<number>")
@blp.response(200, ReviewDetailSchema)
@refusals(blp, 404)
def get_review(number):
    """Show a review with its inputs, decisions and their actions."""
    return services.get_review(number)


@blp.route("/<number>/notes", methods=["PUT"])
@blp.arguments(NotesSchema)
@blp.response(200, ReviewDetailSchema)
@refusals(blp, 403, 404, 409)
def put_notes(data, number):
    """Write the inputs entered as text (until the review is held)."""
    review = services.get_review(number)
    return _detail(services.save_notes(g.api_user, review, data["notes"]))


@blp.route("/<number>/prepare", methods=["POST"])
@blp.response(200, ReviewDetailSchema)
@refusals(blp, 403, 404, 409)
def prepare(number):
    """Compile the §9.3.2 inputs from the system (again, until the review is held)."""
    review = services.get_review(number)
    return _detail(services.prepare(g.api_user, review))


@blp.route("/<number>/hold", methods=["POST"])
@blp.arguments(HoldSchema)
@blp.response(200, ReviewDetailSchema)
@refusals(blp, 403, 404, 409)
def hold(data, number):
    """Record the meeting as held: its inputs are frozen from now on."""
    review = services.get_review(number)
    return _detail(services.hold(g.api_user, review, data["held_on"], data["discussion"]))


@blp.route("/<number>/decisions", methods=["POST"])
@blp.arguments(ReviewDecisionCreateSchema)
@blp.response(201, ReviewDecisionResultSchema)
@refusals(blp, 403, 404, 409)
def post_decision(data, number):
    """Record an output (§9.3.3) of a held review and, when given, the action to carry it out."""
    review = services.get_review(number)
    planned = data["action"]
    action = None
    if planned is not None:
        action = services.PlannedAction(
            planned["type"], planned["title"], planned["owner"], planned["due_date"]
        )
    decision, action_number = services.decide(
        g.api_user, review, data["kind"], data["text"], action
    )
    return {
        "id": decision.id,
        "kind": decision.kind,
        "text": decision.text,
        "actions": decision.actions,
        "created_at": decision.created_at,
        "action": action_number,
    }


class DecisionActionSchema(PlannedActionSchema):
    pass


class DecisionActionResultSchema(Schema):
    decision = fields.Integer()
    action = fields.String()


@blp.route("/<number>/decisions/<int:decision_id>/actions", methods=["POST"])
@blp.arguments(DecisionActionSchema)
@blp.response(201, DecisionActionResultSchema)
@refusals(blp, 403, 404, 409)
def post_decision_action(data, number, decision_id):
    """Create a further action for a decision of a held review (improvement domain)."""
    review = services.get_review(number)
    decision = services.get_decision(review, decision_id)
    action_number = services.create_action(
        g.api_user, decision, data["type"], data["title"], data["owner"], data["due_date"]
    )
    return {"decision": decision.id, "action": action_number}


@blp.route("/<number>/approve", methods=["POST"])
@blp.arguments(ApproveMinutesSchema)
@blp.response(200, ReviewDetailSchema)
@refusals(blp, 403, 404, 409)
def approve(data, number):
    """The chair approves the minutes; the password signs them and they are kept."""
    review = services.get_review(number)
    return _detail(services.approve_minutes(g.api_user, review, data["password"]))

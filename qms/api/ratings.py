"""API resources for citizens' ratings and their rectification.

The service platform POSTs ratings one at a time or in batches; sending the same rating
again changes nothing (it is counted as unchanged), and a case number sent again with
different content is refused (409): a rating is evidence, never edited.
"""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, pre_load, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.ratings import services
from qms.ratings.models import (
    CHANNELS,
    FOLLOWUP_RESULTS,
    FOLLOWUP_WAYS,
    LEVELS,
)

# One blueprint for both resources (/ratings, /rectifications): the API registers one per
# module, and a rectification exists only as a rating's.
blp = Blueprint(
    "api_ratings",
    __name__,
    description="Citizens' ratings of cases (好差评, GB/T 39734), received once by case number, "
    "and the rectification of poor ones (整改) with the follow-up (回访)",
)
blp.before_request(authenticate)

SCORE = {"validate": validate.Range(min=1, max=5), "allow_none": True, "load_default": None}


class RatingInSchema(Schema):
    case_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    item = fields.String(required=True, metadata={"description": "The service item's code."})
    window = fields.String(required=True, metadata={"description": "The window's code."})
    staff = fields.String(
        load_default=None, allow_none=True, metadata={"description": "A username."}
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    level = fields.Integer(
        required=True,
        validate=validate.OneOf(LEVELS),
        metadata={"description": "5 very satisfied … 1 very dissatisfied."},
    )
    attitude = fields.Integer(**SCORE)
    efficiency = fields.Integer(**SCORE)
    quality = fields.Integer(**SCORE)
    convenience = fields.Integer(**SCORE)
    fairness = fields.Integer(**SCORE)
    comment = fields.String(load_default="")
    rated_at = fields.DateTime(
        required=True, metadata={"description": "Without an offset, the office's time."}
    )


class RatingPostSchema(Schema):
    """One rating, or ``{"ratings": [...]}``."""

    ratings = fields.List(
        fields.Nested(RatingInSchema),
        required=True,
        validate=validate.Length(min=1, max=services.MAX_BATCH),
    )

    @pre_load
    def one_or_many(self, data, **_kwargs):
        if isinstance(data, dict) and "ratings" not in data:
            return {"ratings": [data]}
        return data


class RectificationBriefSchema(Schema):
    number = fields.String()
    state = fields.String()
    due_date = fields.Date()
    overdue = fields.Function(services.is_overdue)
    nc = fields.String(attribute="nc_number", allow_none=True)


class RatingSchema(Schema):
    """A rating as received; ``scores`` holds the indicators attitude, efficiency, quality,
    convenience and fairness (1–5, or null)."""

    case_number = fields.String()
    item = fields.Function(lambda r: r.item.code)
    window = fields.Function(lambda r: r.window.code)
    department = fields.Function(lambda r: r.department.name if r.department else None)
    staff = fields.Function(lambda r: r.staff.username if r.staff else None)
    channel = fields.String()
    level = fields.Integer()
    scores = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))
    comment = fields.String()
    rated_at = fields.DateTime()
    received_at = fields.DateTime()
    origin = fields.String()
    rectification = fields.Nested(RectificationBriefSchema, allow_none=True)


class ReceiptSchema(Schema):
    created = fields.Function(lambda r: len(r.created))
    unchanged = fields.Function(lambda r: len(r.unchanged))
    created_cases = fields.Function(lambda r: [x.case_number for x in r.created])
    unchanged_cases = fields.List(fields.String(), attribute="unchanged")
    rectifications = fields.List(fields.Nested(RectificationBriefSchema))


class RatingQuery(PagingQuery):
    start = fields.Date(metadata={"description": "Rated on or after (office date)."})
    end = fields.Date(metadata={"description": "Rated on or before (office date)."})
    level = fields.Integer(validate=validate.OneOf(LEVELS))
    item = fields.String(validate=validate.Length(max=40))
    window = fields.String(validate=validate.Length(max=40))
    department_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    poor = fields.Boolean(load_default=False)


class RatingPageSchema(Schema):
    items = fields.List(fields.Nested(RatingSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


@blp.route("/ratings")
class Ratings(MethodView):
    @blp.arguments(RatingQuery, location="query")
    @blp.response(200, RatingPageSchema)
    def get(self, args):
        """List the ratings, newest first, by period, level, item, window or department."""
        paging = {"page": args.pop("page"), "per_page": args.pop("per_page")}
        return page_of(services.list_ratings(services.RatingFilters(**args)), paging)

    @blp.arguments(RatingPostSchema)
    @blp.response(200, ReceiptSchema)
    def post(self, data):
        """Receive one rating or a batch, all or none; what is held already is unchanged."""
        rows = list(enumerate(data["ratings"], start=1))
        return services.receive(g.api_user, rows, origin="api")


@blp.route("/ratings/<case>")
class RatingOne(MethodView):
    @blp.response(200, RatingSchema)
    def get(self, case):
        """Show one rating as received, with its rectification."""
        return services.get_rating(case)


class RectificationSchema(RectificationBriefSchema):
    """A rectification; its state is open, rectified, followed_up or closed."""

    rating = fields.Function(lambda r: r.rating.case_number)
    level = fields.Function(lambda r: r.rating.level)
    department = fields.Function(lambda r: r.department.name if r.department else None)
    opened_at = fields.DateTime()
    finding = fields.String()
    fix = fields.String()
    rectified_at = fields.DateTime(allow_none=True)
    on_time = fields.Function(services.on_time, allow_none=True)
    followup_on = fields.Date(allow_none=True)
    followup_way = fields.String(allow_none=True)
    followup_result = fields.String(allow_none=True)
    followup_note = fields.String()
    closed_at = fields.DateTime(allow_none=True)


class RectificationQuery(PagingQuery):
    view = fields.String(load_default="open", validate=validate.OneOf(services.RECTIFICATION_VIEWS))
    department_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class RectificationPageSchema(Schema):
    items = fields.List(fields.Nested(RectificationSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class StepSchema(Schema):
    step = fields.String(required=True, validate=validate.OneOf(tuple(services.STEP_TARGETS)))
    finding = fields.String(metadata={"description": "rectify: what looking into it found"})
    fix = fields.String(metadata={"description": "rectify: how it was put right"})
    on = fields.Date(metadata={"description": "follow_up: the day of the follow-up"})
    way = fields.String(validate=validate.OneOf(FOLLOWUP_WAYS))
    result = fields.String(validate=validate.OneOf(FOLLOWUP_RESULTS))
    note = fields.String()
    reason = fields.String(metadata={"description": "reopen: why it is put right again"})


@blp.route("/rectifications")
@blp.arguments(RectificationQuery, location="query")
@blp.response(200, RectificationPageSchema)
def list_rectifications(args):
    """List the rectifications: open, overdue, closed or all, soonest due first."""
    stmt = services.list_rectifications(args["view"], args.get("department_id"))
    return page_of(stmt, args)


@blp.route("/rectifications/<number>")
@blp.response(200, RectificationSchema)
def get_rectification(number):
    """Show a rectification: its finding, fix, follow-up and NC."""
    return services.get_rectification(number)


@blp.route("/rectifications/<number>/steps", methods=["POST"])
@blp.arguments(StepSchema)
@blp.response(200, RectificationSchema)
def step(data, number):
    """Take a step: rectify (department), follow_up, close or reopen (quality office)."""
    rectification = services.get_rectification(number)
    return services.take_step(g.api_user, rectification, data.pop("step"), **data)

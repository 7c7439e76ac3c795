"""API resources for actions: correction, corrective, preventive and improvement."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.auth.services import active_user_named
from qms.extensions import db
from qms.improvement import services
from qms.improvement.models import ACTION_ORIGINS, ACTION_STATES, ACTION_TYPES

blp = Blueprint(
    "api_actions",
    __name__,
    url_prefix="/actions",
    description="Corrective, preventive and improvement actions",
)
blp.before_request(authenticate)


class ReleaseSchema(Schema):
    document = fields.String(attribute="code")
    revision = fields.String()
    commit = fields.String()
    effective_date = fields.Date(allow_none=True)
    previous = fields.String(allow_none=True)


class ActionSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    type = fields.String(attribute="action_type")
    title = fields.String()
    description = fields.String()
    nonconformity = fields.Method("get_nc")
    origin = fields.String()
    origin_ref = fields.String(allow_none=True)
    owner = fields.String(attribute="owner.username")
    due_date = fields.Date()
    state = fields.String()
    effectiveness_criteria = fields.String(allow_none=True)
    check_date = fields.Date(allow_none=True)
    done_by = fields.Method("get_done_by")
    done_at = fields.DateTime(allow_none=True)
    done_note = fields.String(allow_none=True)
    checked_by = fields.Method("get_checked_by")
    checked_at = fields.DateTime(allow_none=True)
    check_result = fields.String(allow_none=True)
    change_request = fields.String(allow_none=True)
    release = fields.Method("get_release")

    def get_nc(self, action):
        return action.nonconformity.number if action.nonconformity else None

    def get_done_by(self, action):
        return action.done_by.username if action.done_by else None

    def get_checked_by(self, action):
        return action.checked_by.username if action.checked_by else None

    def get_release(self, action):
        release = services.action_release(action)
        return ReleaseSchema().dump(release) if release else None


class ActionCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTION_TYPES))
    title = fields.String(required=True)
    owner = fields.String(required=True)
    due_date = fields.Date(required=True)
    nonconformity = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default="")
    effectiveness_criteria = fields.String(load_default=None, allow_none=True)
    check_date = fields.Date(load_default=None, allow_none=True)
    origin = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(ACTION_ORIGINS[1:])
    )
    origin_ref = fields.String(load_default=None, allow_none=True)


class ActionListQuery(PagingQuery):
    state = fields.String(validate=validate.OneOf(ACTION_STATES))
    type = fields.String(validate=validate.OneOf(ACTION_TYPES))
    owner = fields.String()
    overdue = fields.Boolean(load_default=False)


class ActionPageSchema(Schema):
    items = fields.List(fields.Nested(ActionSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class ActionTransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(ACTION_STATES))
    note = fields.String(load_default=None, allow_none=True)
    result = fields.String(load_default=None, allow_none=True)


class ChangeRequestSchema(Schema):
    documents = fields.List(fields.String(), required=True)
    reason = fields.String(required=True)


def detail(action):
    db.session.refresh(action)
    return action


@blp.route("")
class Actions(MethodView):
    @blp.arguments(ActionListQuery, location="query")
    @blp.response(200, ActionPageSchema)
    def get(self, args):
        """List actions, soonest due first."""
        owner = active_user_named(args.get("owner"), "owner")
        filters = services.ActionFilters(
            state=args.get("state"),
            action_type=args.get("type"),
            owner_id=owner.id if owner else None,
            overdue=args["overdue"],
        )
        stmt = services.list_actions(filters)
        return page_of(stmt, args)

    @blp.arguments(ActionCreateSchema)
    @blp.response(201, ActionSchema)
    def post(self, data):
        """Plan an action, for a nonconformity or on its own."""
        action = services.create_action(
            g.api_user,
            data["type"],
            data["title"],
            data["owner"],
            data["due_date"],
            nonconformity=data["nonconformity"],
            description=data["description"],
            effectiveness_criteria=data["effectiveness_criteria"],
            check_date=data["check_date"],
            origin=data["origin"],
            origin_ref=data["origin_ref"],
        )
        return detail(action)


@blp.route("/<action_id>")
@blp.response(200, ActionSchema)
def get_action(action_id):
    """Show an action by id or number."""
    return detail(services.get_action(action_id))


@blp.route("/<action_id>/transition", methods=["POST"])
@blp.arguments(ActionTransitionSchema)
@blp.response(200, ActionSchema)
def transition(data, action_id):
    """Move an action on: start, done (with ``note``), or checked (with ``result``)."""
    action = services.get_action(action_id)
    services.action_transition(g.api_user, action, data["to"], data["note"], data["result"])
    return detail(action)


@blp.route("/<action_id>/change-request", methods=["POST"])
@blp.arguments(ChangeRequestSchema)
@blp.response(201, ActionSchema)
def change_request(data, action_id):
    """Raise the document change request this action needs."""
    action = services.get_action(action_id)
    services.request_document_change(g.api_user, action, data["documents"], data["reason"])
    return detail(action)

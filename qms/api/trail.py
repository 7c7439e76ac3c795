"""API resource for the audit trail: its events, filtered and paged; read-only."""

from datetime import UTC

from flask import g
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qms import trail
from qms.api import PagingQuery, authenticate, page_of
from qms.api.refusals import refusals
from qms.auth.models import User
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db

blp = Blueprint(
    "api_trail",
    __name__,
    url_prefix="/trail",
    description="The append-only, hash-chained audit trail, read-only",
)
blp.before_request(authenticate)


class EventSchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.Method("get_actor")
    action = fields.String()
    object_type = fields.String()
    object_key = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()

    def get_actor(self, event: trail.AuditEvent):
        return event.user.username if event.user else None


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class TrailQuery(PagingQuery):
    object_type = fields.String(
        validate=validate.Length(max=40), metadata={"description": "document, revision, …"}
    )
    object_key = fields.String(
        validate=validate.Length(max=120), metadata={"description": "QP-07, QP-07/B, …"}
    )
    actor = fields.String(metadata={"description": "Username of who did it"})
    action = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "An action, or a family ending in a dot (revision.)"},
    )
    since = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "From this time on (UTC if no offset)"}
    )
    until = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "Before this time (UTC if no offset)"}
    )


def _utc(args: dict, name: str):
    value = args.get(name)
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationFailed(_("This time is out of range."), field=name) from None


@blp.route("")
@blp.arguments(TrailQuery, location="query")
@blp.response(200, EventPageSchema)
@refusals(blp, 403)
def list_events(args):
    """List the trail's events in chain order, by object, actor, action and time.

    The whole trail is for auditors, the quality office and administrators; anyone may
    read one object's events (``object_type`` and ``object_key``) where its page shows
    them.
    """
    obj = None
    if args.get("object_type") and args.get("object_key"):
        obj = (args["object_type"], args["object_key"])
    if not trail.can_read_trail(g.api_user, obj):
        raise PermissionDenied(
            _(
                "Only auditors, the quality office and administrators read the audit trail "
                "beyond the objects whose page you may open."
            )
        )
    user_id = None
    if args.get("actor"):
        user_id = db.session.scalar(select(User.id).where(User.username == args["actor"]))
        if user_id is None:
            raise ValidationFailed(_("There is no user %(name)s.", name=args["actor"]), "actor")
    stmt = trail.events(
        object_type=args.get("object_type"),
        object_key=args.get("object_key"),
        user_id=user_id,
        action=args.get("action"),
        since=_utc(args, "since"),
        until=_utc(args, "until"),
    )
    return page_of(stmt, args)

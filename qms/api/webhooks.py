"""API resources for outgoing webhooks: subscriptions and their deliveries (administrators)."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.webhooks import services
from qms.webhooks.models import EVENTS, STATES

blp = Blueprint(
    "api_webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Outgoing webhooks, signed and retried: subscriptions and deliveries (admin)",
)
blp.before_request(authenticate)

EVENT = fields.String(validate=validate.OneOf(EVENTS))


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_by = fields.Function(lambda s: s.created_by.username)
    created_at = fields.DateTime()
    changed_at = fields.DateTime(allow_none=True)


class SubscriptionCreatedSchema(SubscriptionSchema):
    secret = fields.String(
        metadata={
            "description": "The signing secret: answered this once, never again. X-QMS-Signature"
            ' is "sha256=" + hex HMAC-SHA256 of "<X-QMS-Timestamp>.<body>" keyed with it.'
        }
    )


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class SubscriptionCreateSchema(Schema):
    url = fields.String(required=True, metadata={"description": "An http:// or https:// URL."})
    events = fields.List(EVENT, required=True, validate=validate.Length(min=1))
    description = fields.String(load_default="")
    active = fields.Boolean(load_default=True)


class SubscriptionChangeSchema(Schema):
    url = fields.String()
    events = fields.List(EVENT, validate=validate.Length(min=1))
    description = fields.String()
    active = fields.Boolean()


class DeliverySchema(Schema):
    id = fields.Integer()
    uid = fields.String(metadata={"description": "Sent as X-QMS-Delivery and as the body's id."})
    event = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    attempts = fields.Integer()
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Function(services.payload_of, metadata={"description": "The body sent."})


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))


class DeliveryQuerySchema(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))


@blp.route("")
class Subscriptions(MethodView):
    @blp.response(200, SubscriptionListSchema)
    def get(self):
        """List the webhook subscriptions, newest first."""
        return {"items": services.list_subscriptions(g.api_user)}

    @blp.arguments(SubscriptionCreateSchema)
    @blp.response(201, SubscriptionCreatedSchema)
    def post(self, data):
        """Subscribe an address to events; the answer holds its secret, this once."""
        sub = services.create_subscription(g.api_user, **data)
        return sub, 201, {"Cache-Control": "no-store"}


@blp.route("/<int:ident>")
class SubscriptionOne(MethodView):
    @blp.response(200, SubscriptionSchema)
    def get(self, ident):
        """Show a subscription (never its secret)."""
        return services.get_subscription(g.api_user, ident)

    @blp.arguments(SubscriptionChangeSchema)
    @blp.response(200, SubscriptionSchema)
    def patch(self, data, ident):
        """Change a subscription's address, events, description or active flag."""
        sub = services.get_subscription(g.api_user, ident)
        return services.change_subscription(g.api_user, sub, **data)

    @blp.response(204)
    def delete(self, ident):
        """Delete a subscription and its delivery log."""
        services.delete_subscription(g.api_user, services.get_subscription(g.api_user, ident))


@blp.route("/<int:ident>/deliveries", methods=["GET"])
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryListSchema)
def deliveries(args, ident):
    """List a subscription's newest deliveries, with their state and last answer."""
    sub = services.get_subscription(g.api_user, ident)
    return {"items": services.list_deliveries(g.api_user, subscription=sub, state=args["state"])}

"""API resources for the context registers: issues, interested parties, legal requirements."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.context import services
from qms.context.models import ISSUE_KINDS, LEGAL_STATUSES

blp = Blueprint(
    "api_context",
    __name__,
    url_prefix="",
    description="Context of the organisation: issues, interested parties, legal requirements",
)
blp.before_request(authenticate)


class ContextIssueSchema(Schema):
    number = fields.String()
    kind = fields.String()
    title = fields.String()
    description = fields.String()
    owner = fields.Function(lambda i: i.owner.username)
    review_date = fields.Date()
    created_at = fields.DateTime()


class ContextIssueListSchema(Schema):
    items = fields.List(fields.Nested(ContextIssueSchema))


class ContextIssueCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ISSUE_KINDS))
    title = fields.String(required=True)
    description = fields.String(load_default="")
    owner = fields.String(required=True)
    review_date = fields.Date(required=True)


class KindQuerySchema(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(ISSUE_KINDS))


class PartySchema(Schema):
    number = fields.String()
    name = fields.String()
    needs = fields.String()
    owner = fields.Function(lambda p: p.owner.username)
    review_date = fields.Date()
    created_at = fields.DateTime()


class PartyListSchema(Schema):
    items = fields.List(fields.Nested(PartySchema))


class PartyCreateSchema(Schema):
    name = fields.String(required=True)
    needs = fields.String(required=True)
    owner = fields.String(required=True)
    review_date = fields.Date(required=True)


class LegalSchema(Schema):
    number = fields.String()
    law = fields.String()
    article = fields.String()
    requirement = fields.String()
    status = fields.String()
    documents = fields.List(fields.String())
    owner = fields.Function(lambda r: r.owner.username)
    review_date = fields.Date()
    changed_at = fields.DateTime(allow_none=True)


class LegalListSchema(Schema):
    items = fields.List(fields.Nested(LegalSchema))


class LegalCreateSchema(Schema):
    law = fields.String(required=True)
    article = fields.String(load_default="")
    requirement = fields.String(required=True)
    owner = fields.String(required=True)
    review_date = fields.Date(required=True)
    documents = fields.List(fields.String(), load_default=list)
    status = fields.String(load_default="applicable", validate=validate.OneOf(LEGAL_STATUSES))


class LegalChangeSchema(Schema):
    law = fields.String()
    article = fields.String()
    requirement = fields.String()
    owner = fields.String()
    review_date = fields.Date()
    documents = fields.List(fields.String())
    status = fields.String(validate=validate.OneOf(LEGAL_STATUSES))
    reason = fields.String(load_default="")


class LegalChangedSchema(LegalSchema):
    change_requests = fields.List(fields.String())


@blp.route("/context/issues")
class Issues(MethodView):
    @blp.arguments(KindQuerySchema, location="query")
    @blp.response(200, ContextIssueListSchema)
    def get(self, args):
        """List the internal and external issues."""
        return {"items": services.list_issues(args["kind"])}

    @blp.arguments(ContextIssueCreateSchema)
    @blp.response(201, ContextIssueSchema)
    def post(self, data):
        """Add an issue (quality office)."""
        return services.add_issue(g.api_user, **data)


@blp.route("/interested-parties")
class Parties(MethodView):
    @blp.response(200, PartyListSchema)
    def get(self):
        """List the interested parties with their needs and expectations."""
        return {"items": services.list_parties()}

    @blp.arguments(PartyCreateSchema)
    @blp.response(201, PartySchema)
    def post(self, data):
        """Add an interested party (quality office)."""
        return services.add_party(g.api_user, **data)


@blp.route("/legal-requirements")
class LegalRequirements(MethodView):
    @blp.response(200, LegalListSchema)
    def get(self):
        """List the legal and other requirements with their implementing documents."""
        return {"items": services.list_legal_requirements()}

    @blp.arguments(LegalCreateSchema)
    @blp.response(201, LegalSchema)
    def post(self, data):
        """Add a legal requirement (quality office)."""
        implementing = data.pop("documents")
        return services.add_legal_requirement(g.api_user, implementing=implementing, **data)


@blp.route("/legal-requirements/<number>")
class LegalRequirementOne(MethodView):
    @blp.response(200, LegalSchema)
    def get(self, number):
        """Show one legal requirement."""
        return services.get_legal_requirement(number)

    @blp.arguments(LegalChangeSchema)
    @blp.response(200, LegalChangedSchema)
    def patch(self, data, number):
        """Change a requirement; a change to what it says raises a change request per document."""
        req = services.get_legal_requirement(number)
        raised = services.change_legal_requirement(g.api_user, req, **data)
        req.change_requests = raised
        return req

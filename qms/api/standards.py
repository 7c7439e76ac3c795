"""API resources for the standard system: external standards and the categories of each scheme."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.standards import services
from qms.standards.models import STANDARD_STATUSES

blp = Blueprint(
    "api_standards",
    __name__,
    url_prefix="",
    description="The standard system (标准体系): external standards and categories",
)
blp.before_request(authenticate)


class StandardCategorySchema(Schema):
    id = fields.Integer()
    scheme = fields.String()
    code = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    position = fields.Integer()


class StandardCategoryListSchema(Schema):
    items = fields.List(fields.Nested(StandardCategorySchema))


class StandardCategoryQuerySchema(Schema):
    scheme = fields.String(load_default=None, validate=validate.Length(max=40))


class StandardSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    edition = fields.String()
    issuing_body = fields.String()
    status = fields.String()
    effective_on = fields.Date(allow_none=True)
    replaced_by = fields.Function(
        lambda s: s.replaced_by.number if s.replaced_by else None, allow_none=True
    )
    category = fields.Function(
        lambda s: (
            {"id": s.category.id, "scheme": s.category.scheme, "code": s.category.code}
            if s.category
            else None
        ),
        allow_none=True,
    )
    document = fields.Function(lambda s: services.document_code(s.document_id), allow_none=True)


class StandardDetailSchema(StandardSchema):
    citing_documents = fields.Function(lambda s: [d.code for d in services.citing_documents(s)])
    open_change_requests = fields.Function(
        lambda s: [cr.number for cr in services.open_change_requests(s)]
    )


class StandardListSchema(Schema):
    items = fields.List(fields.Nested(StandardSchema))


class StandardQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STANDARD_STATUSES))
    category = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "A category's id: standards in it and its sub-categories."},
    )
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class StandardCreateSchema(Schema):
    number = fields.String(required=True, metadata={"example": "GB/T 39734-2020"})
    title = fields.String(required=True)
    edition = fields.String(load_default="")
    issuing_body = fields.String(load_default="")
    effective_on = fields.Date(load_default=None, allow_none=True)
    category = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    document = fields.String(
        load_default=None, allow_none=True, metadata={"description": "Controlled copy's code"}
    )


class StandardStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STANDARD_STATUSES))
    replaced_by = fields.String(
        load_default=None, allow_none=True, metadata={"description": "The successor's number"}
    )
    successor_title = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Adds the successor at once when it is not registered"},
    )
    reason = fields.String(load_default="")


class StandardStatusResultSchema(Schema):
    standard = fields.Nested(StandardDetailSchema)
    change_request = fields.String(
        allow_none=True, metadata={"description": "The change request raised, if any"}
    )


@blp.route("/standard-categories")
class Categories(MethodView):
    @blp.arguments(StandardCategoryQuerySchema, location="query")
    @blp.response(200, StandardCategoryListSchema)
    def get(self, args):
        """List the categories of a scheme (or of all), each parent before its children."""
        return {"items": services.categories(args["scheme"])}


@blp.route("/standards")
class Standards(MethodView):
    @blp.arguments(StandardQuerySchema, location="query")
    @blp.response(200, StandardListSchema)
    def get(self, args):
        """List the external standards, filtered by status, category and text."""
        return {
            "items": services.list_standards(
                category_id=args["category"], status=args["status"], q=args["q"]
            )
        }

    @blp.arguments(StandardCreateSchema)
    @blp.response(201, StandardDetailSchema)
    def post(self, data):
        """Register an external standard (quality office); its number is normalised."""
        return services.add_standard(g.api_user, **data)


@blp.route("/standards/<int:standard_id>")
class StandardOne(MethodView):
    @blp.response(200, StandardDetailSchema)
    def get(self, standard_id):
        """Show a standard with the documents citing it and its open change requests."""
        return services.get_standard(standard_id)


@blp.route("/standards/<int:standard_id>/status", methods=["POST"])
@blp.arguments(StandardStatusSchema)
@blp.response(200, StandardStatusResultSchema)
def change_status(data, standard_id):
    """Mark a standard in force, replaced or withdrawn; citing documents get a change request."""
    std = services.get_standard(standard_id)
    raised = services.set_status(g.api_user, std, **data)
    return {"standard": services.get_standard(standard_id), "change_request": raised}

"""API resources for the service catalogue: items, windows, and standard coverage."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.standards import catalogue, coverage

blp = Blueprint(
    "api_service_items",
    __name__,
    description="The service catalogue: service items (事项), windows (窗口), coverage",
)
blp.before_request(authenticate)


class WindowSchema(Schema):
    code = fields.String()
    name = fields.String()
    department = fields.Function(lambda w: w.department.name if w.department else None)
    active = fields.Boolean()


class GoverningDocumentSchema(Schema):
    code = fields.Function(lambda row: row.document.code)
    title = fields.Function(lambda row: row.document.title)
    status = fields.Function(lambda row: row.document.status)
    next_review_due = fields.Function(
        lambda row: (
            row.document.next_review_due.isoformat() if row.document.next_review_due else None
        )
    )


class GoverningStandardSchema(Schema):
    number = fields.Function(lambda row: row.standard.number)
    title = fields.Function(lambda row: row.standard.title)
    status = fields.Function(lambda row: row.standard.status)
    replaced_by = fields.Function(
        lambda row: row.standard.replaced_by.number if row.standard.replaced_by else None
    )


class ItemSchema(Schema):
    code = fields.String()
    name = fields.String()
    department = fields.Function(lambda i: i.department.name if i.department else None)
    promised_days = fields.Integer(allow_none=True)
    statutory_days = fields.Integer(allow_none=True)
    windows = fields.Function(lambda i: [w.code for w in i.windows])
    active = fields.Boolean()
    coverage = fields.Function(
        lambda i: coverage.assess_item(i).state,
        metadata={"description": "covered (有标), short (缺标) or missing (无标)"},
    )


class ReasonSchema(Schema):
    kind = fields.String(
        metadata={"description": "withdrawn, replaced, obsolete, review_overdue or not_effective"}
    )
    subject = fields.String(metadata={"description": "The standard's number or document's code"})
    replacement = fields.Function(
        lambda r: r.replacement.number if r.replacement else None, allow_none=True
    )


class ItemDetailSchema(ItemSchema):
    legal_basis = fields.String()
    window_details = fields.Function(lambda i: WindowSchema(many=True).dump(i.windows))
    documents = fields.List(fields.Nested(GoverningDocumentSchema), attribute="document_rows")
    standards = fields.List(fields.Nested(GoverningStandardSchema), attribute="standard_rows")
    reasons = fields.Function(
        lambda i: ReasonSchema(many=True).dump(coverage.assess_item(i).reasons)
    )


class ItemListSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))


class ItemQuerySchema(Schema):
    department = fields.String(load_default=None)
    window = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(coverage.STATES))
    q = fields.String(load_default=None)
    include_inactive = fields.Boolean(load_default=False)


class ItemChangeSchema(Schema):
    name = fields.String()
    legal_basis = fields.String()
    promised_days = fields.Integer(allow_none=True)
    statutory_days = fields.Integer(allow_none=True)
    department = fields.String(allow_none=True)
    windows = fields.List(fields.String())
    documents = fields.List(fields.String(), metadata={"description": "Document codes"})
    standards = fields.List(fields.String(), metadata={"description": "Standard numbers"})
    active = fields.Boolean()


class ItemCreateSchema(ItemChangeSchema):
    class Meta:
        exclude = ("active",)  # a new item is active

    code = fields.String(required=True)
    name = fields.String(required=True)


class WindowDetailSchema(WindowSchema):
    items = fields.Function(lambda w: [i.code for i in catalogue.items_of_window(w)])


class WindowListSchema(Schema):
    items = fields.List(fields.Nested(WindowSchema))


class WindowCreateSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    department = fields.String(load_default=None, allow_none=True)


class ShareSchema(Schema):
    label = fields.String()
    total = fields.Integer()
    covered = fields.Integer()
    percent = fields.Float(allow_none=True)
    meets_target = fields.Boolean()


class GapSchema(Schema):
    code = fields.Function(lambda e: e.item.code)
    name = fields.Function(lambda e: e.item.name)
    department = fields.Function(lambda e: e.item.department.name if e.item.department else None)
    state = fields.String(metadata={"description": "short (缺标) or missing (无标)"})
    reasons = fields.List(fields.Nested(ReasonSchema))


class StandardCoverageSchema(Schema):
    target = fields.Integer(metadata={"description": "The target coverage, in percent"})
    overall = fields.Nested(ShareSchema)
    departments = fields.List(fields.Nested(ShareSchema))
    short = fields.Integer(metadata={"description": "Items whose standards fall short (缺标)"})
    missing = fields.Integer(metadata={"description": "Items with no standard (无标)"})
    gaps = fields.List(fields.Nested(GapSchema))


@blp.route("/service-items")
class ServiceItems(MethodView):
    @blp.arguments(ItemQuerySchema, location="query")
    @blp.response(200, ItemListSchema)
    def get(self, args):
        """List the service items, by department, window, coverage state or text."""
        state = args.pop("state")
        items = catalogue.list_items(**args)
        if state:
            items = [e.item for e in coverage.assess(items) if e.state == state]
        return {"items": items}

    @blp.arguments(ItemCreateSchema)
    @blp.response(201, ItemDetailSchema)
    def post(self, data):
        """Add a service item (quality office)."""
        return catalogue.add_item(g.api_user, data.pop("code"), data.pop("name"), **data)


@blp.route("/service-items/<code>")
class ServiceItemOne(MethodView):
    @blp.response(200, ItemDetailSchema)
    def get(self, code):
        """Show an item: legal basis, time limits, windows, what governs it, its state."""
        return catalogue.get_item(code)

    @blp.arguments(ItemChangeSchema)
    @blp.response(200, ItemDetailSchema)
    def patch(self, data, code):
        """Change an item; ``active: false`` deactivates it (quality office)."""
        return catalogue.change_item(g.api_user, catalogue.get_item(code), **data)


@blp.route("/windows")
class Windows(MethodView):
    @blp.response(200, WindowListSchema)
    def get(self):
        """List the windows of the service hall."""
        return {"items": catalogue.list_windows()}

    @blp.arguments(WindowCreateSchema)
    @blp.response(201, WindowDetailSchema)
    def post(self, data):
        """Add a window (quality office)."""
        return catalogue.add_window(g.api_user, **data)


@blp.route("/windows/<code>")
class WindowOne(MethodView):
    @blp.response(200, WindowDetailSchema)
    def get(self, code):
        """Show a window and the codes of the items it handles."""
        return catalogue.get_window(code)


@blp.route("/coverage", methods=["GET"])
@blp.response(200, StandardCoverageSchema)
def get_coverage():
    """Standard coverage overall and per department against its target, and the gaps."""
    assessed = coverage.assess()
    result = coverage.figures(assessed)
    return {
        "target": result.target,
        "overall": result.overall,
        "departments": result.departments,
        "short": result.short,
        "missing": result.missing,
        "gaps": coverage.gaps(assessed),
    }

"""API resources for filled records: submit, list, read with versions, amend, void, attach."""

from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.errors import ValidationFailed
from qms.records import services
from qms.records.models import LINK_TYPES, RECORD_STATUSES, Record

blp = Blueprint(
    "api_records",
    __name__,
    url_prefix="/records",
    description="Filled record forms, their versions and attachments",
)
blp.before_request(authenticate)


class VersionSchema(Schema):
    version = fields.Integer()
    values = fields.Dict()
    reason = fields.String(allow_none=True)
    created_by = fields.String(attribute="created_by.username")
    created_at = fields.DateTime()


class LinkSchema(Schema):
    target_type = fields.String()
    target_key = fields.String()
    created_by = fields.String(attribute="created_by.username")
    created_at = fields.DateTime()


class RecordSchema(Schema):
    number = fields.String()
    form = fields.String(attribute="form_code")
    form_title = fields.String()
    form_revision = fields.String()
    form_commit = fields.String()
    status = fields.String()
    version = fields.Integer()
    submitted_by = fields.String(attribute="submitted_by.username")
    department = fields.String(attribute="department.name")
    submitted_at = fields.DateTime()


class RecordDetailSchema(RecordSchema):
    values = fields.Dict()
    versions = fields.Method("get_versions")
    void_reason = fields.String(allow_none=True)
    links = fields.List(fields.Nested(LinkSchema))

    def get_versions(self, record: Record):
        """The earlier versions, each with the reason the next version replaced it."""
        earlier = VersionSchema(many=True).dump(record.versions[:-1])
        for item, after in zip(earlier, record.versions[1:], strict=True):
            item["superseded_because"] = after.reason
        return earlier


class RecordCreateSchema(Schema):
    form = fields.String(required=True)
    values = fields.Dict(required=True)


class AmendSchema(Schema):
    values = fields.Dict(required=True)
    reason = fields.String(required=True)


class VoidSchema(Schema):
    reason = fields.String(required=True)


class LinkCreateSchema(Schema):
    target_type = fields.String(required=True, validate=validate.OneOf(LINK_TYPES))
    target_key = fields.String(required=True)


class RecordListQuery(PagingQuery):
    form = fields.String()
    status = fields.String(validate=validate.OneOf(RECORD_STATUSES))
    revision = fields.String()
    submitter = fields.String()
    department = fields.String()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    field = fields.String()
    value = fields.String()
    sort = fields.String(
        load_default="-submitted_at",
        validate=validate.OneOf([f"{p}{k}" for k in services.SORTS for p in ("", "-")]),
    )


class RecordPageSchema(Schema):
    items = fields.List(fields.Nested(RecordSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class AttachmentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    sha256 = fields.String()


@blp.route("")
class Records(MethodView):
    @blp.arguments(RecordListQuery, location="query")
    @blp.response(200, RecordPageSchema)
    def get(self, args):
        """List records, filtered by form, status, dates, submitter and field values."""
        stmt = services.list_records(
            form=args.get("form"),
            status=args.get("status"),
            revision=args.get("revision"),
            submitter=args.get("submitter"),
            department=args.get("department"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            field=args.get("field"),
            value=args.get("value"),
            sort=args["sort"],
            viewer=g.api_user,
        )
        return page_of(stmt, args)

    @blp.arguments(RecordCreateSchema)
    @blp.response(201, RecordDetailSchema)
    def post(self, data):
        """Submit a record of the form's effective revision; 422 lists problems by field key.

        The form's rules hold as on its page: a field required when another has some
        value, two fields that must differ, and computed fields, which the server
        computes (a value sent for one is ignored).
        """
        return services.submit_record(g.api_user, data["form"], data["values"])


@blp.route("/attachments", methods=["POST"])
@blp.response(201, AttachmentSchema)
def upload():
    """Store a file (multipart field ``file``); use its ``id`` as an attachment field's value.

    The file is typed by its content; HTML, SVG and programs are refused.
    """
    upload_ = request.files.get("file")
    if upload_ is None or not upload_.filename:
        raise ValidationFailed(_("Send the file as multipart form field 'file'."), field="file")
    return services.store_attachment(g.api_user, upload_.stream, upload_.filename, field="file")


@blp.route("/<path:number>")
@blp.response(200, RecordDetailSchema)
def get_record(number):
    """Show a record: current values, earlier versions with reasons, links."""
    return services.get_record(number, viewer=g.api_user)


@blp.route("/<path:number>/amend", methods=["POST"])
@blp.arguments(AmendSchema)
@blp.response(200, RecordDetailSchema)
def amend(data, number):
    """Amend a record: a new version with a reason; the earlier one stays readable.

    The values are checked, and computed fields computed again, as on submission.
    """
    return services.amend_record(g.api_user, number, data["values"], data["reason"])


@blp.route("/<path:number>/void", methods=["POST"])
@blp.arguments(VoidSchema)
@blp.response(200, RecordDetailSchema)
def void(data, number):
    """Void a record with a reason; it is never deleted."""
    return services.void_record(g.api_user, number, data["reason"])


@blp.route("/<path:number>/links", methods=["POST"])
@blp.arguments(LinkCreateSchema)
@blp.response(201, LinkSchema)
def link(data, number):
    """Link a record to what it concerns or what cites it (a nonconformity, an audit …)."""
    services.get_record(number, viewer=g.api_user)
    return services.link_record(number, data["target_type"], data["target_key"], g.api_user)

"""API resources for nonconformities: raise, list, show, analyse, move through the workflow."""

from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qms.api import PagingQuery, authenticate, page_of
from qms.auth.models import Department
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.improvement import services
from qms.improvement.models import (
    CAUSE_CATEGORIES,
    DISPOSITIONS,
    NC_STATES,
    SEVERITIES,
    SOURCES,
)
from qms.text import LONG_TEXT

blp = Blueprint(
    "api_nonconformities",
    __name__,
    url_prefix="/nonconformities",
    description="Nonconformities, from report to verified closure",
)
blp.before_request(authenticate)


class ActionSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    type = fields.String(attribute="action_type")
    title = fields.String()
    owner = fields.String(attribute="owner.username")
    due_date = fields.Date()
    state = fields.String()
    change_request = fields.String(allow_none=True)


class NcDocumentSchema(Schema):
    code = fields.String()
    revision = fields.String(allow_none=True)


class EvidenceSchema(Schema):
    kind = fields.String()
    record = fields.String(attribute="record_number", allow_none=True)
    url = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    added_by = fields.String(attribute="added_by.username")
    added_at = fields.DateTime()


class NcSchema(Schema):
    number = fields.String()
    title = fields.String()
    state = fields.String()
    source = fields.String()
    severity = fields.String()
    department = fields.String(attribute="department.name")
    clause = fields.String(allow_none=True)
    raised_by = fields.String(attribute="raised_by.username")
    raised_at = fields.DateTime()
    responsible = fields.Method("get_responsible")
    due_date = fields.Date(allow_none=True)
    days_open = fields.Method("get_days_open")
    reopen_count = fields.Integer()

    def get_responsible(self, nc):
        return nc.responsible.username if nc.responsible else None

    def get_days_open(self, nc):
        return services.days_open(nc)


class NcOutputSchema(Schema):
    output = fields.String()
    quantity = fields.Integer()
    disposition = fields.String(allow_none=True)
    disposition_note = fields.String(allow_none=True)
    authorised_by = fields.Function(lambda o: o.authorised_by.username if o.authorised_by else None)
    evidence_ref = fields.String(allow_none=True)
    evidence_sha256 = fields.String(allow_none=True)
    disposed_on = fields.Date(allow_none=True)


class NcOutputSetSchema(Schema):
    output = fields.String(required=True)
    quantity = fields.Integer(required=True)


class DispositionSchema(Schema):
    disposition = fields.String(required=True, validate=validate.OneOf(DISPOSITIONS))
    note = fields.String(load_default="")
    authorised_by = fields.String(load_default=None, allow_none=True)
    evidence_ref = fields.String(load_default=None, allow_none=True)


class NcDetailSchema(NcSchema):
    output = fields.Nested(NcOutputSchema, allow_none=True)
    description = fields.String()
    documents = fields.List(fields.Nested(NcDocumentSchema))
    evidence = fields.List(fields.Nested(EvidenceSchema))
    containment = fields.String(allow_none=True)
    containment_by = fields.Method("get_containment_by")
    containment_on = fields.Date(allow_none=True)
    whys = fields.List(fields.String(), allow_none=True)
    cause_category = fields.String(allow_none=True)
    root_cause = fields.String(allow_none=True)
    check_result = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    actions = fields.List(fields.Nested(ActionSummarySchema))
    supplier = fields.Method("get_supplier")

    def get_supplier(self, nc):
        from qms.suppliers import services as suppliers

        provider = suppliers.supplier_by_id(nc.supplier_id)
        return provider.number if provider else None

    def get_containment_by(self, nc):
        return nc.containment_by.username if nc.containment_by else None


class NcCreateSchema(Schema):
    title = fields.String(required=True)
    description = fields.String(required=True, metadata={"maxLength": LONG_TEXT})
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    department = fields.String(load_default=None, allow_none=True)
    clause = fields.String(load_default=None, allow_none=True)
    severity = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(SEVERITIES)
    )
    responsible = fields.String(load_default=None, allow_none=True)
    due_date = fields.Date(load_default=None, allow_none=True)
    documents = fields.List(fields.String(), load_default=list)
    records = fields.List(fields.String(), load_default=list)
    supplier = fields.String(load_default=None, allow_none=True)


class NcListQuery(PagingQuery):
    state = fields.String(validate=validate.OneOf(NC_STATES))
    source = fields.String(validate=validate.OneOf(SOURCES))
    department = fields.String()
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    clause = fields.String()
    overdue = fields.Boolean(load_default=False)
    q = fields.String()
    supplier = fields.String(metadata={"description": "The number of the provider named."})


class NcPageSchema(Schema):
    items = fields.List(fields.Nested(NcSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class TransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(NC_STATES))
    containment = fields.String(load_default=None, allow_none=True)
    containment_by = fields.String(load_default=None, allow_none=True)
    containment_on = fields.Date(load_default=None, allow_none=True)
    comment = fields.String(load_default=None, allow_none=True)
    result = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)


class AnalysisSchema(Schema):
    whys = fields.List(fields.String(), required=True)
    cause_category = fields.String(required=True, validate=validate.OneOf(CAUSE_CATEGORIES))
    root_cause = fields.String(required=True)


class AssignSchema(Schema):
    responsible = fields.String(required=True)
    due_date = fields.Date(load_default=None, allow_none=True)


class EvidenceCreateSchema(Schema):
    record = fields.String(load_default=None, allow_none=True)
    url = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default="")
    document = fields.String(load_default=None, allow_none=True)


def detail(nc):
    """Return the NC reloaded, so the response shows what was committed."""
    db.session.refresh(nc)
    return nc


def _department_id(name: str | None) -> int | None:
    if not name:
        return None
    return db.session.scalar(select(Department.id).where(Department.name == name)) or -1


def _supplier_id(number: str | None) -> int | None:
    if not number:
        return None
    from qms.suppliers import services as suppliers

    return suppliers.get_supplier(number).id


@blp.route("")
class Nonconformities(MethodView):
    @blp.arguments(NcListQuery, location="query")
    @blp.response(200, NcPageSchema)
    def get(self, args):
        """List nonconformities, filtered and paged, newest first."""
        filters = services.NcFilters(
            state=args.get("state"),
            source=args.get("source"),
            department_id=_department_id(args.get("department")),
            severity=args.get("severity"),
            clause=args.get("clause"),
            overdue=args["overdue"],
            q=args.get("q"),
            supplier_id=_supplier_id(args.get("supplier")),
        )
        stmt = services.list_ncs(filters)
        return page_of(stmt, args)

    @blp.arguments(NcCreateSchema)
    @blp.response(201, NcDetailSchema)
    def post(self, data):
        """Raise a nonconformity."""
        nc = services.raise_nc(g.api_user, **data)
        return detail(nc)


@blp.route("/<number>")
@blp.response(200, NcDetailSchema)
def get_nc(number):
    """Show a nonconformity with its evidence, analysis and actions."""
    return detail(services.get_nc(number))


@blp.route("/<number>/transition", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, NcDetailSchema)
def transition(data, number):
    """Move the NC to its next state with the fields that step needs."""
    nc = services.get_nc(number)
    to = data.pop("to")
    services.transition(g.api_user, nc, to, **data)
    return detail(nc)


@blp.route("/<number>/output", methods=["PUT"])
@blp.arguments(NcOutputSetSchema)
@blp.response(200, NcDetailSchema)
def put_output(data, number):
    """Say that the NC is about an output (§8.7): what was affected and how many."""
    nc = services.get_nc(number)
    services.set_output(g.api_user, nc, data["output"], data["quantity"])
    return detail(nc)


@blp.route("/<number>/disposition", methods=["POST"])
@blp.arguments(DispositionSchema)
@blp.response(200, NcDetailSchema)
def post_disposition(data, number):
    """Record the output's disposition with its evidence reference (needed before closing)."""
    nc = services.get_nc(number)
    services.record_disposition(g.api_user, nc, **data)
    return detail(nc)


@blp.route("/<number>/analysis", methods=["PUT"])
@blp.arguments(AnalysisSchema)
@blp.response(200, NcDetailSchema)
def analysis(data, number):
    """Write the root-cause analysis (the responsible person, in the analysis step)."""
    nc = services.get_nc(number)
    services.record_analysis(
        g.api_user, nc, data["whys"], data["cause_category"], data["root_cause"]
    )
    return detail(nc)


@blp.route("/<number>/assign", methods=["POST"])
@blp.arguments(AssignSchema)
@blp.response(200, NcDetailSchema)
def assign(data, number):
    """Name the responsible person and due date (quality office)."""
    nc = services.get_nc(number)
    services.assign(g.api_user, nc, data["responsible"], data["due_date"])
    return detail(nc)


@blp.route("/<number>/evidence", methods=["POST"])
@blp.arguments(EvidenceCreateSchema)
@blp.response(201, NcDetailSchema)
def add_evidence(data, number):
    """Link a record, a web link or a document concerned to the NC."""
    nc = services.get_nc(number)
    if data["record"]:
        services.add_record_evidence(g.api_user, nc, data["record"])
    elif data["url"]:
        services.add_link_evidence(g.api_user, nc, data["url"], data["note"])
    elif data["document"]:
        services.add_document(g.api_user, nc, data["document"])
    else:
        raise ValidationFailed(_("Give a record, a link or a document."), field="record")
    return detail(nc)


@blp.route("/<number>/evidence/file", methods=["POST"])
@blp.response(201, NcDetailSchema)
def add_file(number):
    """Attach a file (multipart field ``file``) to the NC as evidence; its type is read from
    its content, and a refused file leaves nothing behind."""
    nc = services.get_nc(number)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(_("Send the file as multipart form field 'file'."), field="file")
    services.add_attachment(g.api_user, nc, upload.stream, upload.filename)
    return detail(nc)

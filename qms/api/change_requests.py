"""API resources for document change requests: raise, list, show, accept or decline."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qms.api import PagingQuery, authenticate, page_of
from qms.api.refusals import refusals
from qms.documents import services
from qms.documents.models import ChangeRequest
from qms.extensions import db

#: The states of a change request (qms.documents.labels.cr_status_label names them).
CR_STATUSES = ("open", "accepted", "declined", "implemented")

blp = Blueprint(
    "api_change_requests",
    __name__,
    url_prefix="/change-requests",
    description="Document change requests: anyone raises one, an approver decides",
)
blp.before_request(authenticate)


class DocumentChangeRequestSchema(Schema):
    number = fields.String()
    title = fields.String()
    status = fields.String()
    source_ref = fields.String(allow_none=True)
    documents = fields.Method("get_documents")
    raised_by = fields.String(attribute="raised_by.username")
    raised_at = fields.DateTime()

    def get_documents(self, cr: ChangeRequest):
        return [d.code for d in cr.documents]


class DocumentChangeRequestDetailSchema(DocumentChangeRequestSchema):
    reason = fields.String()
    decided_by = fields.Method("get_decided_by")
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    revisions = fields.Method(
        "get_revisions", metadata={"description": "The revisions carrying it out, CODE/REV"}
    )

    def get_decided_by(self, cr: ChangeRequest):
        return cr.decided_by.username if cr.decided_by else None

    def get_revisions(self, cr: ChangeRequest):
        return [
            f"{rev.document.code}/{rev.label}"
            for rev in services.revisions_for_change_request(cr.number)
        ]


class DocumentChangeRequestPageSchema(Schema):
    items = fields.List(fields.Nested(DocumentChangeRequestSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class ChangeRequestListQuery(PagingQuery):
    status = fields.String(validate=validate.OneOf(CR_STATUSES))


class ChangeRequestCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(max=300))
    reason = fields.String(required=True)
    documents = fields.List(
        fields.String(), required=True, metadata={"description": "Codes of the documents"}
    )
    source_ref = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "The NC or action behind it, e.g. NC-2026-0004"},
    )


class ChangeRequestDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))
    note = fields.String(load_default="", metadata={"description": "Required when declining"})


def _detail(cr: ChangeRequest) -> ChangeRequest:
    db.session.refresh(cr)
    return cr


@blp.route("")
class ChangeRequests(MethodView):
    @blp.arguments(ChangeRequestListQuery, location="query")
    @blp.response(200, DocumentChangeRequestPageSchema)
    def get(self, args):
        """List change requests, newest first, by status."""
        stmt = select(ChangeRequest).order_by(ChangeRequest.raised_at.desc(), ChangeRequest.id)
        if args.get("status"):
            stmt = stmt.where(ChangeRequest.status == args["status"])
        return page_of(stmt, args)

    @blp.arguments(ChangeRequestCreateSchema)
    @blp.response(201, DocumentChangeRequestDetailSchema)
    @refusals(blp, 404)
    def post(self, data):
        """Raise a change request on one or more documents; anyone may."""
        return services.raise_change_request(
            g.api_user, data["title"], data["reason"], data["documents"], data["source_ref"]
        )


@blp.route("/<number>")
@blp.response(200, DocumentChangeRequestDetailSchema)
@refusals(blp, 404)
def get_change_request(number):
    """Show a change request, its decision and the revisions carrying it out."""
    return services.get_change_request(number)


@blp.route("/<number>/decision", methods=["POST"])
@blp.arguments(ChangeRequestDecisionSchema)
@blp.response(200, DocumentChangeRequestDetailSchema)
@refusals(blp, 403, 404, 409)
def post_decision(data, number):
    """Accept or decline an open change request (approver); declining needs a note."""
    cr = services.get_change_request(number)
    services.decide_change_request(g.api_user, cr, data["decision"] == "accept", data["note"])
    return _detail(cr)

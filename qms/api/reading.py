"""API resources for reading: what the caller must read, acknowledging it, coverage."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_list
from qms.api.refusals import refusals
from qms.documents import services
from qms.errors import Conflict

blp = Blueprint(
    "api_reading",
    __name__,
    url_prefix="/acknowledgements",
    description="Reading the effective documents and acknowledging each revision",
)
blp.before_request(authenticate)


class ToReadSchema(Schema):
    code = fields.String()
    title = fields.String()
    type = fields.String(attribute="doc_type")
    revision = fields.String(attribute="current_revision", allow_none=True)
    effective_date = fields.Date(allow_none=True)


class ToReadPageSchema(Schema):
    items = fields.List(fields.Nested(ToReadSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class AcknowledgeSchema(Schema):
    codes = fields.List(
        fields.String(),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Codes of the documents whose effective revision was read"},
    )


class AcknowledgedSchema(Schema):
    acknowledged = fields.List(fields.String())
    refused = fields.List(
        fields.String(), metadata={"description": "Why each other document was refused"}
    )


class AcknowledgementCoverageSchema(Schema):
    code = fields.String()
    revision = fields.String(allow_none=True)
    acknowledged = fields.Integer(metadata={"description": "Staff concerned who acknowledged"})
    expected = fields.Integer(metadata={"description": "Active staff the document concerns"})
    concerns_me = fields.Boolean()


@blp.route("")
class Reading(MethodView):
    @blp.arguments(PagingQuery, location="query")
    @blp.response(200, ToReadPageSchema)
    def get(self, args):
        """List the effective documents the caller must read and has not acknowledged."""
        return page_list(services.reading_list(g.api_user), args)

    @blp.arguments(AcknowledgeSchema)
    @blp.response(200, AcknowledgedSchema)
    @refusals(blp, 409)
    def post(self, data):
        """Acknowledge the effective revision of each document, as the reading list does.

        Documents refused (unknown, not in force, not distributed to the caller's
        department) are listed with the reason; when every one is refused, 409.
        """
        result = services.acknowledge_selected(g.api_user, data["codes"])
        if not result.done:
            raise Conflict(result.refused[0], detail={"codes": result.refused})
        return {"acknowledged": [d.code for d in result.done], "refused": result.refused}


@blp.route("/<code>")
@blp.response(200, AcknowledgementCoverageSchema)
@refusals(blp, 404)
def coverage(code):
    """Show how many of the staff concerned acknowledged the document's effective revision."""
    doc = services.get_document(code)
    rev = services.effective_revision(doc) if doc.status == "effective" else None
    done, expected = services.acknowledgement_counts(rev) if rev else (0, 0)
    return {
        "code": doc.code,
        "revision": rev.label if rev else None,
        "acknowledged": done,
        "expected": expected,
        "concerns_me": services.concerns(doc, g.api_user),
    }

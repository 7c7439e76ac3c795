"""API resources for documents, drafts, signatures, releases, content and redlines."""

from flask import Response, abort, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.documents import rendering, services
from qms.documents.models import DOC_STATUSES, DOC_TYPES, Document, Revision
from qms.documents.redline import redline
from qms.extensions import db

blp = Blueprint(
    "api_documents",
    __name__,
    url_prefix="/documents",
    description="Controlled documents and their revisions",
)
blp.before_request(authenticate)


class SignatureSchema(Schema):
    meaning = fields.String()
    signer = fields.String(attribute="user.username")
    signer_name = fields.String(attribute="user.display_name")
    signed_at = fields.DateTime()
    blob = fields.String(attribute="blob_id")
    comment = fields.String(allow_none=True)


class RevisionSchema(Schema):
    revision = fields.String(attribute="label")
    status = fields.String()
    commit = fields.Method("get_commit")
    blob = fields.String(attribute="blob_id", allow_none=True)
    effective_date = fields.Date(allow_none=True)
    summary = fields.String()
    author = fields.String(attribute="author.username")
    change_request = fields.Method("get_change_request")
    signatures = fields.List(fields.Nested(SignatureSchema))

    def get_commit(self, rev: Revision):
        return rev.release_commit or rev.head_commit

    def get_change_request(self, rev: Revision):
        return rev.change_request.number if rev.change_request else None


class DocumentSchema(Schema):
    code = fields.String()
    title = fields.String()
    type = fields.String(attribute="doc_type")
    parent = fields.Method("get_parent")
    department = fields.Method("get_department")
    clauses = fields.List(fields.String())
    status = fields.String()
    revision = fields.String(attribute="current_revision", allow_none=True)
    effective_date = fields.Date(allow_none=True)
    next_review_due = fields.Date(allow_none=True)
    path = fields.String()

    def get_parent(self, doc: Document):
        return doc.parent.code if doc.parent else None

    def get_department(self, doc: Document):
        return doc.department.name if doc.department else None


class DocumentDetailSchema(DocumentSchema):
    revisions = fields.List(fields.Nested(RevisionSchema))
    open_revision = fields.Method("get_open")

    def get_open(self, doc: Document):
        rev = services.open_revision(doc)
        return rev.label if rev else None


class DocumentCreateSchema(Schema):
    code = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(DOC_TYPES))
    parent = fields.String(load_default=None, allow_none=True)
    department = fields.String(load_default=None, allow_none=True)
    clauses = fields.List(fields.String(), load_default=list)
    review_interval_months = fields.Integer(load_default=12)
    distribution = fields.List(fields.String(), load_default=list)


class DocumentListQuery(PagingQuery):
    type = fields.String(validate=validate.OneOf(DOC_TYPES))
    status = fields.String(validate=validate.OneOf(DOC_STATUSES))
    clause = fields.String()
    q = fields.String()
    due_for_review = fields.Boolean(load_default=False)


class DocumentPageSchema(Schema):
    items = fields.List(fields.Nested(DocumentSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class DraftSchema(Schema):
    content = fields.String(required=True)
    summary = fields.String(load_default="")
    base_commit = fields.String(load_default=None, allow_none=True)
    change_request = fields.String(load_default=None, allow_none=True)


class ApproveSchema(Schema):
    password = fields.String(required=True)
    comment = fields.String(load_default=None, allow_none=True)


class RejectSchema(Schema):
    reason = fields.String(required=True)


class ReleaseSchema(Schema):
    effective_date = fields.Date(load_default=None, allow_none=True)


class ContentQuery(Schema):
    revision = fields.String(load_default=None)
    format = fields.String(load_default="md", validate=validate.OneOf(rendering.FORMATS))


class DiffQuery(Schema):
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)


def detail(doc: Document) -> Document:
    """Return the document reloaded, so the response shows what was committed."""
    db.session.refresh(doc)
    return doc


@blp.route("")
class Documents(MethodView):
    @blp.arguments(DocumentListQuery, location="query")
    @blp.response(200, DocumentPageSchema)
    def get(self, args):
        """List the register, filtered and paged."""
        stmt = services.list_documents(
            doc_type=args.get("type"),
            status=args.get("status"),
            clause=args.get("clause"),
            q=args.get("q"),
            due_for_review=args["due_for_review"],
        )
        return page_of(stmt, args)

    @blp.arguments(DocumentCreateSchema)
    @blp.response(201, DocumentDetailSchema)
    def post(self, data):
        """Add a document to the register."""
        doc = services.create_document(
            g.api_user,
            data["code"],
            data["title"],
            data["type"],
            parent=data["parent"],
            department=data["department"],
            clauses=data["clauses"],
            review_interval_months=data["review_interval_months"],
            distribution=data["distribution"],
        )
        return detail(doc)


@blp.route("/<code>")
@blp.response(200, DocumentDetailSchema)
def get_document(code):
    """Show a document with its revisions and signatures."""
    return detail(services.get_document(code))


@blp.route("/<code>/draft", methods=["PUT"])
@blp.arguments(DraftSchema)
@blp.response(200, DocumentDetailSchema)
def put_draft(data, code):
    """Save the whole Markdown file as the open draft (opening one when needed)."""
    doc = services.get_document(code)
    services.save_draft(
        g.api_user,
        doc,
        data["content"],
        data["summary"],
        base_commit=data["base_commit"],
        change_request=data["change_request"],
    )
    return detail(doc)


@blp.route("/<code>/draft/submit", methods=["POST"])
@blp.response(200, DocumentDetailSchema)
def submit(code):
    """Send the draft for review."""
    doc = services.get_document(code)
    services.submit(g.api_user, doc)
    return detail(doc)


@blp.route("/<code>/draft/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, DocumentDetailSchema)
def approve(data, code):
    """Approve the revision in review; the password signs it."""
    doc = services.get_document(code)
    services.approve(g.api_user, doc, data["password"], data["comment"])
    return detail(doc)


@blp.route("/<code>/draft/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@blp.response(200, DocumentDetailSchema)
def reject(data, code):
    """Send the revision back to draft with a reason."""
    doc = services.get_document(code)
    services.reject(g.api_user, doc, data["reason"])
    return detail(doc)


@blp.route("/<code>/draft/release", methods=["POST"])
@blp.arguments(ReleaseSchema)
@blp.response(200, DocumentDetailSchema)
def release(data, code):
    """Release the approved revision, effective today or on a later date."""
    doc = services.get_document(code)
    services.release(g.api_user, doc, data["effective_date"])
    return detail(doc)


@blp.route("/<code>/content")
@blp.arguments(ContentQuery, location="query")
@blp.response(200, description="The revision in the requested format")
def content(args, code):
    """Return a revision as Markdown, sanitised HTML, or a DOCX/PDF controlled copy."""
    doc = services.get_document(code)
    rev = (
        services.get_revision(doc, args["revision"])
        if args["revision"]
        else services.effective_revision(doc) or services.open_revision(doc)
    )
    if rev is None:
        abort(404, description=f"{code} has no revision yet.")
    data, mimetype, filename = rendering.download(rev, args["format"])
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"inline; filename={filename}"}
    )


class PieceSchema(Schema):
    kind = fields.String()
    text = fields.String()


class BlockSchema(Schema):
    kind = fields.String()
    pieces = fields.List(fields.Nested(PieceSchema))


class DiffSchema(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    words_added = fields.Integer()
    words_removed = fields.Integer()
    blocks = fields.List(fields.Nested(BlockSchema))


@blp.route("/<code>/diff")
@blp.arguments(DiffQuery, location="query")
@blp.response(200, DiffSchema)
def diff(args, code):
    """Return the word-by-word redline between two revisions."""
    doc = services.get_document(code)
    old = services.get_revision(doc, args["from_"])
    new = services.get_revision(doc, args["to"])
    result = redline(services.revision_content(old), services.revision_content(new))
    return {
        "from_": old.label,
        "to": new.label,
        "words_added": result.words_added,
        "words_removed": result.words_removed,
        "blocks": result.blocks,
    }

"""API resources for documents, drafts, signatures, releases, content and redlines."""

from flask import Response, abort, g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.api.refusals import refusals
from qms.documents import history, rendering, services
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


# -- as in force on a date ----------------------------------------------------------------


class AsOfQuery(Schema):
    as_of = fields.String(
        metadata={
            "description": "YYYY-MM-DD: answer from main's release history as in force at the "
            "end of that day (office time zone) instead of from the current register. The "
            "items are then AsOfDocument objects; a date in the future means today; a "
            "malformed date answers 400."
        }
    )


class AsOfListQuery(DocumentListQuery, AsOfQuery):
    pass


class AsOfRevisionSchema(Schema):
    revision = fields.String(allow_none=True)
    effective_date = fields.Date()
    commit = fields.String()
    blob = fields.String()


class AsOfDocumentSchema(Schema):
    code = fields.String()
    title = fields.String()
    type = fields.String(attribute="doc_type")
    parent = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    clauses = fields.List(fields.String())
    revision = fields.String(allow_none=True)
    effective_date = fields.Date()
    path = fields.String()
    commit = fields.String()
    blob = fields.String()


class AsOfDocumentDetailSchema(AsOfDocumentSchema):
    as_of = fields.Date()
    content = fields.String()
    revisions = fields.List(fields.Nested(AsOfRevisionSchema))


class AsOfPageSchema(Schema):
    as_of = fields.Date()
    commit = fields.String(allow_none=True)
    items = fields.List(fields.Nested(AsOfDocumentSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def detail(doc: Document) -> Document:
    """Return the document reloaded, so the response shows what was committed."""
    db.session.refresh(doc)
    return doc


@blp.route("")
class Documents(MethodView):
    @blp.arguments(AsOfListQuery, location="query")
    @blp.response(200, DocumentPageSchema)
    @blp.alt_response(
        "default", schema=AsOfPageSchema, description="With as_of: the register as in force"
    )
    def get(self, args):
        """List the register, filtered and paged; or with ``as_of``, as in force on that day."""
        if day := requested_day(args):
            return register_as_of(day, args)
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
@blp.arguments(AsOfQuery, location="query")
@blp.response(200, DocumentDetailSchema)
@blp.alt_response(
    "default", schema=AsOfDocumentDetailSchema, description="With as_of: as in force then"
)
def get_document(args, code):
    """Show a document with its revisions and signatures; with ``as_of``, as in force then."""
    if day := requested_day(args):
        return document_as_of(code, day)
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


class PeriodicReviewSchema(Schema):
    password = fields.String(required=True, metadata={"description": "Signs the review"})
    comment = fields.String(load_default=None, allow_none=True)


class ObsoleteSchema(Schema):
    reason = fields.String(required=True)


@blp.route("/<code>/periodic-review", methods=["POST"])
@blp.arguments(PeriodicReviewSchema)
@blp.response(200, DocumentDetailSchema)
@refusals(blp, 403, 404, 409)
def periodic_review(data, code):
    """Record the periodic review "reviewed, no change", signed with the password."""
    doc = services.get_document(code)
    services.review_no_change(g.api_user, doc, data["password"], data["comment"])
    return detail(doc)


@blp.route("/<code>/obsolete", methods=["POST"])
@blp.arguments(ObsoleteSchema)
@blp.response(200, DocumentDetailSchema)
@refusals(blp, 403, 404, 409)
def obsolete(data, code):
    """Withdraw an effective document with a reason; it stays retrievable, marked obsolete."""
    doc = services.get_document(code)
    services.obsolete(g.api_user, doc, data["reason"])
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


def requested_day(args: dict):
    """Return the ``as_of`` day asked for, today when it is in the future, or None."""
    day = history.parse_day(args.get("as_of"))
    return history.clamp(day)[0] if day is not None else None


def register_as_of(day, args: dict) -> Response:
    """Return the register as in force at the end of ``day``, filtered and paged."""
    state = history.state_as_of(day)
    q = (args.get("q") or "").strip().lower()
    items = [
        d
        for d in state.sorted()
        if (not args.get("type") or d.doc_type == args["type"])
        and (not args.get("clause") or args["clause"] in d.clauses)
        and (not q or q in d.code.lower() or q in d.title.lower())
    ]
    page, per_page = args["page"], args["per_page"]
    body = AsOfPageSchema().dump(
        {
            "as_of": day,
            "commit": state.commit,
            "items": items[(page - 1) * per_page : page * per_page],
            "page": page,
            "per_page": per_page,
            "total": len(items),
            "pages": -(-len(items) // per_page),
        }
    )
    return jsonify(body)


def document_as_of(code: str, day) -> Response:
    """Return one document as in force at the end of ``day``, with its text."""
    item = history.document_as_of(code, day)
    if item is None:
        services.get_document(code)  # 404 for a code that never existed
        abort(404, description=f"{code} was not in force on {day.isoformat()}.")
    body = AsOfDocumentDetailSchema().dump(item)
    body["as_of"] = day.isoformat()
    body["content"] = item.text()
    body["revisions"] = AsOfRevisionSchema(many=True).dump(history.releases_of(code, day))
    return jsonify(body)

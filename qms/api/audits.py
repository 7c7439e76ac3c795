"""API resources for audit plans, their findings and their workflow."""

from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.audits import report, services
from qms.audits.models import AUDIT_STATES, AUDIT_TYPES, RESULTS, Audit, AuditQuestion
from qms.extensions import db

blp = Blueprint(
    "api_audits",
    __name__,
    url_prefix="/audits",
    description="Internal audits: plans, findings, reports",
)
blp.before_request(authenticate)


class AuditQuestionSchema(Schema):
    number = fields.Integer(attribute="seq")
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    clause = fields.String(allow_none=True)
    document = fields.String(attribute="document_code", allow_none=True)
    text = fields.Method("get_text")
    result = fields.String(allow_none=True)
    evidence = fields.String()
    records = fields.List(fields.String())
    nc_number = fields.String(allow_none=True)
    action = fields.String(attribute="action_ref", allow_none=True)

    def get_text(self, question: AuditQuestion):
        return services.question_text(question, "en")


class AuditCriterionSchema(Schema):
    code = fields.String(attribute="document.code")
    revision = fields.String(allow_none=True)
    commit = fields.String(allow_none=True)


class AuditSchema(Schema):
    ref = fields.String()
    title = fields.String()
    type = fields.String(attribute="audit_type")
    state = fields.String()
    departments = fields.Method("get_departments")
    processes = fields.List(fields.String())
    clauses = fields.List(fields.String())
    lead_auditor = fields.String(attribute="lead_auditor.username")
    team = fields.Method("get_team")
    auditees = fields.Method("get_auditees")
    planned_start = fields.Date()
    planned_end = fields.Date()
    report_sha256 = fields.String(allow_none=True)

    def get_departments(self, audit: Audit):
        return [d.name for d in audit.departments]

    def get_team(self, audit: Audit):
        return [u.username for u in audit.team]

    def get_auditees(self, audit: Audit):
        return [u.username for u in audit.auditees]


class AuditDetailSchema(AuditSchema):
    objectives = fields.String()
    criteria = fields.List(fields.Nested(AuditCriterionSchema), attribute="document_rows")
    questions = fields.List(fields.Nested(AuditQuestionSchema))
    results = fields.Method("get_results")

    def get_results(self, audit: Audit):
        return report.distribution_of_results(audit)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class AuditListQuery(PagingQuery):
    year = fields.Integer(validate=validate.Range(min=1900, max=9999))
    state = fields.String(validate=validate.OneOf(AUDIT_STATES))
    q = fields.String()


class AuditCreateSchema(Schema):
    title = fields.String(required=True)
    type = fields.String(load_default="internal", validate=validate.OneOf(AUDIT_TYPES))
    departments = fields.List(fields.String(), load_default=list)
    processes = fields.List(fields.String(), load_default=list)
    clauses = fields.List(fields.String(), required=True)
    documents = fields.List(fields.String(), load_default=None, allow_none=True)
    lead_auditor = fields.String(required=True)
    team = fields.List(fields.String(), load_default=list)
    auditees = fields.List(fields.String(), load_default=list)
    planned_start = fields.Date(required=True)
    planned_end = fields.Date(required=True)
    objectives = fields.String(load_default="")


class AuditFindingSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    clause = fields.String(load_default=None, allow_none=True)
    question = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The question's number in the checklist, or the text of a new question"
        },
    )
    evidence = fields.String(load_default="")
    records = fields.List(fields.String(), load_default=list)
    department = fields.String(load_default=None, allow_none=True)
    responsible = fields.String(load_default=None, allow_none=True)
    due_date = fields.Date(load_default=None, allow_none=True)


class AuditFindingResultSchema(AuditQuestionSchema):
    audit = fields.String(attribute="audit.ref")
    number = fields.Method("get_nc")  # the NC number, when one was raised
    question = fields.Integer(attribute="seq")

    def get_nc(self, question: AuditQuestion):
        return question.nc_number


class AuditTransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(AUDIT_STATES))
    password = fields.String(
        load_default=None, metadata={"description": "Needed to sign the report (to: reported)"}
    )
    lang = fields.String(load_default=None, validate=validate.OneOf(("en", "zh_Hans", "zh_Hant")))


class AuditReportQuery(Schema):
    format = fields.String(load_default="pdf", validate=validate.OneOf(tuple(report.FORMATS)))


def _detail(audit: Audit) -> Audit:
    db.session.refresh(audit)
    return audit


@blp.route("", methods=["GET"])
@blp.arguments(AuditListQuery, location="query")
@blp.response(200, AuditPageSchema)
def list_audits(args):
    """List audits, newest first."""
    stmt = services.list_audits(args.get("year"), args.get("state"), args.get("q"))
    return page_of(stmt, args)


@blp.route("", methods=["POST"])
@blp.arguments(AuditCreateSchema)
@blp.response(201, AuditDetailSchema)
def create_audit(data):
    """Plan an audit; 422 with the reason when the team is not independent of its scope."""
    plan = services.PlanData(
        title=data["title"],
        audit_type=data["type"],
        departments=data["departments"],
        processes=data["processes"],
        clauses=data["clauses"],
        documents=data["documents"],
        lead_auditor=data["lead_auditor"],
        team=data["team"],
        auditees=data["auditees"],
        planned_start=data["planned_start"],
        planned_end=data["planned_end"],
        objectives=data["objectives"],
    )
    return _detail(services.create_audit(g.api_user, plan))


@blp.route("/<ref>")
@blp.response(200, AuditDetailSchema)
def get_audit(ref):
    """Show an audit plan with its checklist and findings."""
    return services.get_audit(ref)


@blp.route("/<ref>/findings", methods=["POST"])
@blp.arguments(AuditFindingSchema)
@blp.response(201, AuditFindingResultSchema)
def post_finding(data, ref):
    """Record a finding; a major or minor NC returns the number of the NC it raised."""
    audit = services.get_audit(ref)
    question, text = None, None
    if isinstance(data["question"], int) or str(data["question"] or "").strip().isdigit():
        question = services.get_question(audit, data["question"])
    elif data["question"] is not None:
        text = str(data["question"])
    question = services.record_finding(
        g.api_user,
        audit,
        data["result"],
        data["evidence"],
        question=question,
        clause=data["clause"],
        text=text,
        records=data["records"],
        department=data["department"],
        responsible=data["responsible"],
        due_date=data["due_date"],
    )
    return question


@blp.route("/<ref>/transition", methods=["POST"])
@blp.arguments(AuditTransitionSchema)
@blp.response(200, AuditDetailSchema)
def post_transition(data, ref):
    """Move the audit to its next state (reporting signs the report with the password)."""
    audit = services.get_audit(ref)
    services.transition(g.api_user, audit, data["to"], data["password"], data["lang"])
    return _detail(audit)


@blp.route("/<ref>/report")
@blp.arguments(AuditReportQuery, location="query")
@blp.response(200, description="The signed report as PDF, DOCX or Markdown")
def get_report(args, ref):
    """Return the signed report, regenerated from the exact text signed."""
    audit = services.get_audit(ref)
    data, mimetype, filename = report.report_file(audit, args["format"])
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"inline; filename={filename}",
            "X-Content-SHA256": audit.report_sha256 or "",
        },
    )

"""API resources for the training matrix and training records."""

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import authenticate
from qms.errors import PermissionDenied
from qms.training import matrix, permissions, services
from qms.training.models import METHODS, RESULTS

blp = Blueprint(
    "api_training",
    __name__,
    url_prefix="/training",
    description="Training matrix (required, done, due, overdue) and training records",
)
blp.before_request(authenticate)


class TrainingItemSchema(Schema):
    username = fields.Function(lambda i: i.user.username)
    department = fields.Function(lambda i: i.user.department.name)
    kind = fields.String()
    key = fields.String()
    title = fields.String()
    revision = fields.String(allow_none=True)
    state = fields.String()
    due_date = fields.Date(allow_none=True)
    done_on = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    record = fields.String(allow_none=True)
    to_evaluate = fields.Boolean()


class TrainingCoverageSchema(Schema):
    required = fields.Integer()
    done = fields.Integer()
    due = fields.Integer()
    overdue = fields.Integer()
    percent = fields.Float(allow_none=True)


class TrainingMatrixSchema(Schema):
    coverage = fields.Nested(TrainingCoverageSchema)
    items = fields.List(fields.Nested(TrainingItemSchema))


class TrainingMatrixQuerySchema(Schema):
    department = fields.String(load_default=None)
    person = fields.String(load_default=None)


class TrainingRecordSchema(Schema):
    number = fields.String()
    username = fields.Function(lambda r: r.user.username)
    document = fields.Function(lambda r: r.document.code if r.document else None)
    revision = fields.Function(lambda r: r.revision.label if r.revision else None)
    competence = fields.Function(lambda r: r.competence.name if r.competence else None)
    trained_on = fields.Date()
    trainer = fields.String()
    method = fields.String()
    result = fields.String()
    valid_until = fields.Date(allow_none=True)
    note = fields.String()
    evidence_sha256 = fields.String(allow_none=True)
    session_number = fields.String(allow_none=True)
    effective = fields.Boolean(allow_none=True)
    evaluation = fields.String(allow_none=True)
    evaluated_on = fields.Date(allow_none=True)


class TrainingRecordListSchema(Schema):
    items = fields.List(fields.Nested(TrainingRecordSchema))


class TrainingRecordQuerySchema(Schema):
    person = fields.String(load_default=None)


class TrainingRecordCreateSchema(Schema):
    person = fields.String(required=True)
    trained_on = fields.Date(required=True)
    trainer = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    document = fields.String(load_default=None, allow_none=True)
    revision = fields.String(load_default=None, allow_none=True)
    competence = fields.String(load_default=None, allow_none=True)
    valid_until = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="")


@blp.route("/matrix")
@blp.arguments(TrainingMatrixQuerySchema, location="query")
@blp.response(200, TrainingMatrixSchema)
def get_matrix(args):
    """Return the matrix, filtered by department name and person (username)."""
    user = g.api_user
    person = services.get_user(args["person"], "person") if args["person"] else None
    if not permissions.can_view_matrix(user, person):
        if person is not None or args["department"]:
            raise PermissionDenied(_("You may see only your own training."))
        person = user
    dept_id = services.get_department(args["department"]).id if args["department"] else None
    items = matrix.matrix(dept_id, person.username if person else None)
    return {"coverage": matrix.coverage(items), "items": items}


@blp.route("/records")
class Records(MethodView):
    @blp.arguments(TrainingRecordQuerySchema, location="query")
    @blp.response(200, TrainingRecordListSchema)
    def get(self, args):
        """List training records (staff see their own)."""
        user = g.api_user
        person = services.get_user(args["person"], "person") if args["person"] else None
        if not permissions.can_view_matrix(user, person):
            person = user
        return {"items": services.list_records(user_id=person.id if person else None)}

    @blp.arguments(TrainingRecordCreateSchema)
    @blp.response(201, TrainingRecordSchema)
    def post(self, data):
        """Record a training (quality office); evidence files are attached on the page."""
        return services.record_training(
            g.api_user,
            services.get_user(data["person"], "person"),
            data["trained_on"],
            data["trainer"],
            data["method"],
            data["result"],
            document_code=data["document"],
            revision_label=data["revision"],
            competence_name=data["competence"],
            valid_until=data["valid_until"],
            note=data["note"],
        )


class TrainingSessionCreateSchema(Schema):
    attendees = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    failed = fields.List(fields.String(), load_default=list)
    trained_on = fields.Date(required=True)
    trainer = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    document = fields.String(load_default=None, allow_none=True)
    revision = fields.String(load_default=None, allow_none=True)
    competence = fields.String(load_default=None, allow_none=True)
    valid_until = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="")


class TrainingEvaluationSchema(Schema):
    effective = fields.Boolean(required=True)
    evaluation = fields.String(required=True)
    evaluated_on = fields.Date(load_default=None, allow_none=True)


@blp.route("/sessions", methods=["POST"])
@blp.arguments(TrainingSessionCreateSchema)
@blp.response(201, TrainingRecordListSchema)
def post_session(data):
    """Record a session several people attended: one record each, all or none."""
    people = [services.get_user(u, "attendees") for u in data["attendees"]]
    return {
        "items": services.record_session(
            g.api_user,
            people,
            data["trained_on"],
            data["trainer"],
            data["method"],
            failed=[services.get_user(u, "failed") for u in data["failed"]],
            document_code=data["document"],
            revision_label=data["revision"],
            competence_name=data["competence"],
            valid_until=data["valid_until"],
            note=data["note"],
        )
    }


@blp.route("/records/<number>/evaluation", methods=["POST"])
@blp.arguments(TrainingEvaluationSchema)
@blp.response(200, TrainingRecordSchema)
def post_evaluation(data, number):
    """Record whether a training was effective (§7.2 c); one not effective no longer counts."""
    return services.evaluate(
        g.api_user,
        services.get_record(number),
        data["effective"],
        data["evaluation"],
        data["evaluated_on"],
    )

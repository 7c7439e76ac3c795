"""API resources for the equipment register: instruments, calibrations, status changes."""

from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from qms.api import PagingQuery, authenticate, page_of
from qms.equipment import services
from qms.equipment.models import INTERVAL_UNITS, KINDS, RESULTS, STATUSES
from qms.errors import ValidationFailed

blp = Blueprint(
    "api_equipment",
    __name__,
    url_prefix="/equipment",
    description="Monitoring and measuring equipment: register, calibrations, status (§7.1.5)",
)
blp.before_request(authenticate)


class CalibrationSchema(Schema):
    id = fields.Integer()
    performed_on = fields.Date()
    result = fields.String()
    performed_by = fields.String()
    note = fields.String()
    next_due = fields.Date()
    certificate_name = fields.String(allow_none=True)
    certificate_sha256 = fields.String(allow_none=True)
    nc_number = fields.String(allow_none=True)
    recorded_by = fields.Function(lambda c: c.recorded_by.username)
    recorded_at = fields.DateTime()


class EquipmentSchema(Schema):
    number = fields.String()
    name = fields.String()
    serial = fields.String()
    location = fields.String()
    department = fields.Function(lambda e: e.department.name)
    owner = fields.Function(lambda e: e.owner.username)
    measurement = fields.String()
    kind = fields.String()
    interval_value = fields.Integer()
    interval_unit = fields.String()
    last_calibrated_on = fields.Date(allow_none=True)
    last_result = fields.String(allow_none=True)
    next_due = fields.Date(allow_none=True)
    status = fields.String()
    usable = fields.Function(lambda e: services.usable(e))
    note = fields.String()


class EquipmentDetailSchema(EquipmentSchema):
    calibrations = fields.List(fields.Nested(CalibrationSchema))


class EquipmentPageSchema(Schema):
    items = fields.List(fields.Nested(EquipmentSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class EquipmentQuerySchema(PagingQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    measurement = fields.String(load_default=None)
    owner = fields.String(load_default=None)
    department = fields.String(load_default=None)
    due = fields.String(load_default=None, validate=validate.OneOf(("due", "overdue")))
    q = fields.String(load_default=None)


class EquipmentUpdateSchema(Schema):
    name = fields.String()
    serial = fields.String()
    location = fields.String()
    department = fields.String(allow_none=True)
    owner = fields.String()
    measurement = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    interval_value = fields.Integer(strict=True)
    interval_unit = fields.String(validate=validate.OneOf(INTERVAL_UNITS))
    note = fields.String()


class EquipmentCreateSchema(EquipmentUpdateSchema):
    number = fields.String(load_default=None, allow_none=True)
    name = fields.String(required=True)
    owner = fields.String(required=True)
    measurement = fields.String(required=True)
    interval_value = fields.Integer(required=True, strict=True)
    interval_unit = fields.String(load_default="months", validate=validate.OneOf(INTERVAL_UNITS))
    kind = fields.String(load_default="calibration", validate=validate.OneOf(KINDS))
    last_calibrated_on = fields.Date(load_default=None, allow_none=True)


class CalibrationCreateSchema(Schema):
    performed_on = fields.Date(required=True)
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    performed_by = fields.String(load_default="")
    note = fields.String(load_default="")


class EquipmentStatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String(load_default="")


@blp.route("")
class Register(MethodView):
    @blp.arguments(EquipmentQuerySchema, location="query")
    @blp.response(200, EquipmentPageSchema)
    def get(self, args):
        """List the register, filtered by status, measurement, owner, department, due."""
        filters = services.EquipmentFilters(
            status=args["status"],
            measurement=args["measurement"],
            owner=args["owner"],
            department=args["department"],
            due=args["due"],
            q=args["q"],
        )
        return page_of(services.list_equipment(filters), args)

    @blp.arguments(EquipmentCreateSchema)
    @blp.response(201, EquipmentDetailSchema)
    def post(self, data):
        """Add an instrument (quality office)."""
        return services.register_equipment(
            g.api_user,
            data["name"],
            data["owner"],
            data["measurement"],
            data["interval_value"],
            data["interval_unit"],
            data["kind"],
            number=data["number"],
            serial=data.get("serial", ""),
            location=data.get("location", ""),
            department=data.get("department"),
            last_calibrated_on=data["last_calibrated_on"],
            note=data.get("note", ""),
        )


@blp.route("/<number>")
class Instrument(MethodView):
    @blp.response(200, EquipmentDetailSchema)
    def get(self, number):
        """Read an instrument with its calibration history."""
        return services.get_equipment(number)

    @blp.arguments(EquipmentUpdateSchema)
    @blp.response(200, EquipmentDetailSchema)
    def patch(self, data, number):
        """Change what the register says about an instrument (quality office)."""
        eq = services.get_equipment(number)
        return services.update_equipment(g.api_user, eq, **data)


CALIBRATION_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": CalibrationCreateSchema},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["performed_on", "result"],
                "properties": {
                    "performed_on": {"type": "string", "format": "date"},
                    "result": {"type": "string", "enum": list(RESULTS)},
                    "performed_by": {"type": "string"},
                    "note": {"type": "string"},
                    "certificate": {"type": "string", "format": "binary"},
                },
            }
        },
    },
}


@blp.route("/<number>/calibrations", methods=["POST"])
@blp.doc(requestBody=CALIBRATION_BODY)
@blp.response(201, CalibrationSchema)
def calibrate(number):
    """Record a calibration result (JSON, or multipart with the ``certificate`` file).

    An out-of-tolerance result raises a nonconformity naming the records made with the
    instrument since its last good calibration; its number is in ``nc_number``.
    """
    eq = services.get_equipment(number)
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    try:
        data = CalibrationCreateSchema().load(body or {})
    except ValidationError as exc:
        first = next(iter(exc.messages))
        raise ValidationFailed(
            _("Some values are not valid; see the message beside each field."),
            field=first,
            detail=exc.messages,
        ) from None
    upload = request.files.get("certificate")
    certificate = (upload.stream, upload.filename) if upload and upload.filename else None
    return services.record_calibration(
        g.api_user,
        eq,
        data["performed_on"],
        data["result"],
        data["performed_by"],
        data["note"],
        certificate=certificate,
    )


@blp.route("/<number>/status", methods=["POST"])
@blp.arguments(EquipmentStatusChangeSchema)
@blp.response(200, EquipmentDetailSchema)
def change_status(data, number):
    """Take an instrument out of use, withdraw it, or put a withdrawn one back in use."""
    eq = services.get_equipment(number)
    return services.change_status(g.api_user, eq, data["status"], data["reason"])

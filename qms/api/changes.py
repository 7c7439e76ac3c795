"""API: what changed in the whole system between two dates, from main's release history."""

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from qms.api import authenticate
from qms.documents import history

blp = Blueprint(
    "api_changes",
    __name__,
    url_prefix="/changes",
    description="Documents released, revised and obsoleted between two dates",
)
blp.before_request(authenticate)


class ChangesQuery(Schema):
    from_ = fields.String(
        data_key="from", metadata={"description": "YYYY-MM-DD, first day (default 1 January)"}
    )
    to = fields.String(metadata={"description": "YYYY-MM-DD, last day (default today)"})
    since = fields.String(
        metadata={"description": "'review' or 'audit': from the day after the last one"}
    )


class SideSchema(Schema):
    revision = fields.String(allow_none=True)
    effective_date = fields.Date()
    commit = fields.String()
    blob = fields.String()


class ChangeSchema(Schema):
    kind = fields.String()
    code = fields.String()
    type = fields.String(attribute="doc_type")
    title = fields.String()
    before = fields.Nested(SideSchema, allow_none=True)
    after = fields.Nested(SideSchema, allow_none=True)
    redline = fields.Method("get_redline")
    fields_added = fields.List(fields.String())
    fields_removed = fields.List(fields.String())
    fields_changed = fields.List(fields.String())

    def get_redline(self, change):
        """The API path of the redline between the two revisions, when both are known."""
        if change.kind == "revised" and change.before.revision and change.after.revision:
            return (
                f"/api/v1/documents/{change.code}/diff"
                f"?from={change.before.revision}&to={change.after.revision}"
            )
        return None


class ChangesSchema(Schema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    label = fields.String(allow_none=True)
    notes = fields.List(fields.String())
    new = fields.List(fields.Nested(ChangeSchema))
    revised = fields.List(fields.Nested(ChangeSchema))
    obsoleted = fields.List(fields.Nested(ChangeSchema))
    forms_changed = fields.List(fields.Nested(ChangeSchema))


@blp.route("")
@blp.arguments(ChangesQuery, location="query")
@blp.response(200, ChangesSchema)
def get_changes(_args):
    """List the documents released, revised and obsoleted, and the record forms changed."""
    start, end, label, notes = history.changes_range(request.args)
    result = history.changes_between(start, end)
    return {
        "start": result.start,
        "end": result.end,
        "label": label,
        "notes": notes,
        "new": result.new,
        "revised": result.revised,
        "obsoleted": result.obsoleted,
        "forms_changed": result.forms_changed,
    }

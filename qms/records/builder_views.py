"""The record-form builder page: a form's fields added, ordered, removed and saved to its draft."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)

from qms import render
from qms.documents import services as documents
from qms.errors import ServiceError
from qms.forms import options as choice_list
from qms.records import builder
from qms.records.labels import field_type_label

bp = Blueprint("form_builder", __name__, url_prefix="/records/builder")

LANGUAGE_NAMES = {
    "en": _l("English"),
    "zh_Hans": _l("Simplified Chinese"),
    "zh_Hant": _l("Traditional Chinese"),
}


class OptionRow(Form):
    """One option of a choice field: the value stored, and its label in each language."""

    value = StringField(_l("Value stored"))
    label = StringField(_l("Label"))
    label_en = StringField(LANGUAGE_NAMES["en"])
    label_zh_Hans = StringField(LANGUAGE_NAMES["zh_Hans"])
    label_zh_Hant = StringField(LANGUAGE_NAMES["zh_Hant"])


class FieldRow(Form):
    """One field of the definition, as the builder edits it."""

    key = StringField(
        _l("Key"), description=_l("Lower-case letters, digits and underscores; never changes.")
    )
    type = SelectField(_l("Type"), validate_choice=False)
    required = BooleanField(_l("Required"))
    label = StringField(_l("Label"), description=_l("In the document's own language."))
    label_en = StringField(LANGUAGE_NAMES["en"])
    label_zh_Hans = StringField(LANGUAGE_NAMES["zh_Hans"])
    label_zh_Hant = StringField(LANGUAGE_NAMES["zh_Hant"])
    help = TextAreaField(_l("Help"), render_kw={"rows": 2})
    unit = StringField(_l("Unit"))
    min = StringField(_l("Minimum"))
    max = StringField(_l("Maximum"))
    max_length = StringField(_l("Longest text"))
    options = FieldList(FormField(OptionRow))
    rw_field = StringField(_l("Required when the field"), description=_l("Its key."))
    rw_op = SelectField(
        _l("Condition"),
        validate_choice=False,
        choices=choice_list(
            [
                ("", "—"),
                ("in", _l("is one of")),
                ("not_in", _l("is none of")),
                ("equals", _l("equals")),
                ("filled", _l("is filled in")),
                ("empty", _l("is empty")),
            ]
        ),
    )
    rw_values = StringField(_l("Values"), description=_l("Option values, separated by commas."))
    differs_from = StringField(
        _l("Must differ from"), description=_l("The key of another field of the same type.")
    )
    computed = StringField(
        _l("Computed as"),
        description=_l(
            "Arithmetic (+ - * /) over number and date fields, named by their keys; "
            "a date minus a date gives the days between them."
        ),
    )
    extra = TextAreaField(
        _l("Other settings (YAML)"),
        description=_l("Settings the builder does not edit, such as a table's columns."),
        render_kw={"rows": 4, "spellcheck": "false", "class": "mono"},
    )


class BuilderForm(FlaskForm):
    rows = FieldList(FormField(FieldRow))
    base_commit = HiddenField()


def _form(data: dict | None = None) -> BuilderForm:
    form = BuilderForm(formdata=None, data=data) if data is not None else BuilderForm()
    for entry in form.rows:
        entry.form.type.choices = choice_list(
            (t, field_type_label(t)) for t in builder.field_types()
        )
    return form


def _rows(form: BuilderForm) -> list[dict]:
    return [dict(entry.form.data) for entry in form.rows]


def _move(rows: list[dict], action: str) -> list[dict]:
    """Apply one of the page's buttons (add, up, down, remove, add an option) to the rows."""
    verb, _sep, number = action.partition(":")
    index = int(number) if number.isdigit() else -1
    if verb == "add_field":
        rows.append(builder.blank_row())
    elif not 0 <= index < len(rows):
        return rows
    elif verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    elif verb == "remove":
        del rows[index]
    elif verb == "add_option":
        rows[index]["options"] = [*rows[index].get("options", []), {"value": ""}]
    return rows


@bp.route("/<code>", methods=["GET", "POST"])
def edit(code: str):
    """Edit a record form's fields as a list; saving commits them to the form's draft."""
    doc = documents.get_document(code)
    if not builder.can_build(current_user, doc):
        abort(403)
    content, rev = builder.draft_content(doc)
    error, error_row = None, None
    if request.method == "GET":
        meta, _body = render.split_front_matter(content)
        form = _form(
            {
                "rows": builder.to_rows(meta.get("fields") or meta.get("proposed_fields")),
                "base_commit": "",
            }
        )
        form.base_commit.data = rev.head_commit if rev else ""
    else:
        posted = _form()
        action = request.form.get("action", "save")
        if not posted.validate_on_submit():
            flash(_("The form expired; your fields are kept. Please send it again."), "error")
            form = posted
        elif action != "save":
            rows = _move(_rows(posted), action)
            form = _form({"rows": rows, "base_commit": posted.base_commit.data})
        else:
            rows = _rows(posted)
            try:
                builder.save_fields(
                    current_user,
                    doc,
                    builder.from_rows(rows),
                    base_commit=posted.base_commit.data or None,
                )
            except ServiceError as exc:
                error, error_row = exc.message, _row_of(rows, exc)
                flash(exc.message, "error")
                form = posted
            else:
                flash(_("The fields were saved to the draft."), "success")
                return redirect(url_for("documents.edit", code=doc.code))
    return render_template(
        "records/builder.html",
        doc=doc,
        rev=rev,
        form=form,
        error=error,
        error_row=error_row,
        languages=LANGUAGE_NAMES,
    )


def _row_of(rows: list[dict], exc: ServiceError) -> int | None:
    """Return the index of the row a refusal names (``Field x: …``), if it names one."""
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    key = str(detail.get("field") or "").partition(".")[0]
    return next((n for n, row in enumerate(rows) if (row.get("key") or "").strip() == key), None)

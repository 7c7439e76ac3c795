"""Forms for the register, drafts, signatures and change requests."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from qms.documents.labels import type_label
from qms.documents.models import DOC_TYPES
from qms.forms import options


def type_choices():
    return [(t, type_label(t)) for t in DOC_TYPES]  # pairs; views wrap them with options()


class DocumentForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Letters, digits, dots and dashes, e.g. QP-07 or WI-07-03."),
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    doc_type = SelectField(_l("Type"), validators=[DataRequired()])
    parent = SelectField(_l("Parent document"), validate_choice=False)
    department = SelectField(_l("Owner department"), validate_choice=False)
    clauses = StringField(
        _l("ISO 9001:2015 clauses"), description=_l("Separated by commas, e.g. 7.5, 8.5.1.")
    )
    distribution = SelectMultipleField(
        _l("Departments concerned"),
        validate_choice=False,
        description=_l("Their staff must read each new revision. The owner department always is."),
    )
    review_interval_months = IntegerField(
        _l("Review interval (months)"),
        default=12,
        validators=[InputRequired(), NumberRange(1, 120)],
    )
    submit = SubmitField(_l("Create document"))


class DraftForm(FlaskForm):
    content = TextAreaField(
        _l("Content (Markdown with YAML front matter)"), validators=[InputRequired()]
    )
    summary = StringField(
        _l("Summary of the change"),
        validators=[Length(max=2000)],
        description=_l("Shown in the revision history and the release note."),
    )
    change_request = SelectField(_l("Change request implemented"), validate_choice=False)
    base_commit = HiddenField()
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save draft"))


class StructuredDraftForm(FlaskForm):
    """The draft as its properties and its body; the application writes the front matter."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    parent = SelectField(_l("Parent document"), validate_choice=False)
    department = SelectField(_l("Owner department"), validate_choice=False)
    clauses = SelectMultipleField(_l("ISO 9001:2015 clauses"), validate_choice=False)
    distribution = SelectMultipleField(
        _l("Departments concerned"),
        validate_choice=False,
        description=_l("Their staff must read each new revision. The owner department always is."),
    )
    review_interval_months = IntegerField(
        _l("Review interval (months)"), validators=[InputRequired(), NumberRange(1, 120)]
    )
    retention_years = IntegerField(
        _l("Records kept for (years)"), validators=[Optional(), NumberRange(1, 100)]
    )
    body = TextAreaField(_l("Text"), validators=[InputRequired()])
    summary = StringField(
        _l("Summary of the change"),
        validators=[Length(max=2000)],
        description=_l("Shown in the revision history and the release note."),
    )
    change_request = SelectField(_l("Change request implemented"), validate_choice=False)
    base_commit = HiddenField()
    submit = SubmitField(_l("Save draft"))


class OpenDraftForm(FlaskForm):
    source = RadioField(
        _l("Start from"),
        choices=options(
            [("effective", _l("the effective revision")), ("blank", _l("a blank document"))]
        ),
        default="effective",
    )
    change_request = SelectField(_l("Change request implemented"), validate_choice=False)
    submit = SubmitField(_l("Start new revision"))


class SignForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired()],
        description=_l("Re-entering your password signs the exact content shown."),
    )
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Sign"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField(_l("Confirm"))


class ReleaseForm(FlaskForm):
    effective_date = DateField(
        _l("Effective date"),
        validators=[Optional()],
        description=_l("Today, or a later date on which it becomes effective by itself."),
    )
    submit = SubmitField(_l("Release"))


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField(_l("Add comment"))


class AcknowledgeSelectedForm(FlaskForm):
    """The home page's read-and-acknowledge list: a checkbox per document (by code)."""

    # The service checks each code (unknown, not in force, not the user's to read).
    code = SelectMultipleField(validate_choice=False)
    submit = SubmitField(_l("Acknowledge selected"))


class ActionForm(FlaskForm):
    """A bare form for one-click actions, so that they carry a CSRF token."""

    submit = SubmitField(_l("Confirm"))


class ChangeRequestForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    reason = TextAreaField(_l("Reason for the change"), validators=[DataRequired()])
    documents = SelectMultipleField(
        _l("Documents concerned"), validators=[DataRequired()], validate_choice=False
    )
    source_ref = StringField(
        _l("Nonconformity or action behind it"),
        validators=[Optional(), Length(max=40)],
        description=_l("Its number, e.g. NC-2026-0004, when there is one."),
    )
    submit = SubmitField(_l("Raise change request"))


class DecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=options([("accept", _l("Accept")), ("decline", _l("Decline"))]),
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Note"), description=_l("Required when declining."))
    submit = SubmitField(_l("Record decision"))


class FilterForm(FlaskForm):
    """The register's filters, read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"))
    doc_type = SelectField(_l("Type"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    clause = StringField(_l("Clause"))
    due = BooleanField(_l("Due for review"))


class DelegationForm(FlaskForm):
    delegator = SelectField(_l("Whose signatures"), validators=[DataRequired()])
    delegate = SelectField(_l("Signed meanwhile by"), validators=[DataRequired()])
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("Until (included)"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Why"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("For example: on leave; on an inspection mission."),
    )
    submit = SubmitField(_l("Delegate"))

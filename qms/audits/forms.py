"""Forms for the audit programme, plans, the checklist and the report."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
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


class AuditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    audit_type = SelectField(_l("Type"), validators=[DataRequired()])
    departments = SelectMultipleField(
        _l("Departments audited"),
        validate_choice=False,
        description=_l("An auditor may not audit the department they belong to."),
    )
    processes = StringField(
        _l("Processes audited"),
        validators=[Length(max=2000)],
        description=_l("As named in the audit programme, separated by commas."),
    )
    clauses = StringField(
        _l("ISO 9001:2015 clauses"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Separated by commas, e.g. 7.5, 8.5.1. The checklist follows them."),
    )
    documents = SelectMultipleField(
        _l("Criteria: controlled documents"),
        validate_choice=False,
        description=_l(
            "Pinned to the revision in force when the audit starts. Leave empty to take the "
            "procedures and work specifications of the departments and clauses in scope."
        ),
    )
    risks = SelectMultipleField(
        _l("Criteria: high risks"),
        validate_choice=False,
        description=_l("Open high risks of the register the audit looks into."),
    )
    lead_auditor = SelectField(_l("Lead auditor"), validators=[DataRequired()])
    team = SelectMultipleField(_l("Audit team"), validate_choice=False)
    auditees = SelectMultipleField(_l("Auditees"), validate_choice=False)
    planned_start = DateField(_l("Starts"), validators=[InputRequired()])
    planned_end = DateField(_l("Ends"), validators=[InputRequired()])
    opening_meeting = DateTimeLocalField(
        _l("Opening meeting"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    closing_meeting = DateTimeLocalField(
        _l("Closing meeting"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    objectives = TextAreaField(_l("Objectives"), validators=[Length(max=20000)])
    submit = SubmitField(_l("Save plan"))
    # Shows the checklist the scope generates, and its count, without saving the plan.
    preview = SubmitField(_l("Preview checklist"))


class FindingForm(FlaskForm):
    result = RadioField(_l("Result"), validators=[InputRequired()], validate_choice=False)
    evidence = TextAreaField(
        _l("Evidence"),
        validators=[Length(max=20000)],
        description=_l("What you saw or heard, where, and against which requirement."),
    )
    records = StringField(
        _l("Records cited"),
        validators=[Length(max=1000)],
        description=_l("Record numbers, separated by commas."),
    )
    attachment = FileField(_l("Photo or file"))
    department = SelectField(_l("Department of the NC"), validate_choice=False)
    responsible = SelectField(_l("Responsible for the NC"), validate_choice=False)
    due_date = DateField(_l("NC due date"), validators=[Optional()])
    next_seq = HiddenField()
    submit = SubmitField(_l("Save and next"))
    stay = SubmitField(_l("Save"))


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=4000)])
    clause = StringField(_l("Clause"), validators=[Optional(), Length(max=20)])
    submit = SubmitField(_l("Add question"))


class ActionForm(FlaskForm):
    title = StringField(_l("Action"), validators=[Optional(), Length(max=300)])
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    due_date = DateField(_l("Due date"), validators=[InputRequired()])
    submit = SubmitField(_l("Create action"))


class ReportForm(FlaskForm):
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20000)])
    strengths = TextAreaField(_l("Strengths"), validators=[Length(max=20000)])
    distribution = TextAreaField(
        _l("Distribution"),
        validators=[Length(max=4000)],
        description=_l("Who receives the report."),
    )
    submit = SubmitField(_l("Save report text"))


class SignForm(FlaskForm):
    lang = SelectField(_l("Language of the report"), validate_choice=False)
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired()],
        description=_l("Re-entering your password signs the report exactly as previewed."),
    )
    submit = SubmitField(_l("Sign the report"))


class TransitionForm(FlaskForm):
    """A bare form for the one-click moves (start, close), so that they carry a CSRF token."""

    to = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Confirm"))


class ProgrammeForm(FlaskForm):
    objectives = TextAreaField(_l("Objectives"), validators=[Length(max=20000)])
    scope = TextAreaField(_l("Scope"), validators=[Length(max=20000)])
    criteria = TextAreaField(_l("Criteria"), validators=[Length(max=20000)])
    submit = SubmitField(_l("Save programme"))


class UnitForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("A department's name, or the name of a process."),
    )
    risk = SelectField(_l("Risk"), validators=[DataRequired()])
    frequency = IntegerField(
        _l("Audits per year"),
        validators=[Optional(), NumberRange(0, 52)],
        description=_l("Leave empty to take the suggestion from the risk and past findings."),
    )
    clauses = StringField(
        _l("Clauses that apply"),
        validators=[Length(max=500)],
        description=_l("Separated by commas; empty means all of clauses 4 to 10."),
    )
    notes = StringField(_l("Notes"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Add to programme"))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional()])
    state = SelectField(_l("State"), validate_choice=False)
    q = StringField(_l("Search"))

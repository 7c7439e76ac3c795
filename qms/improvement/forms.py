"""Forms for raising and working nonconformities and actions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class NcForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(
        _l("What was found"),
        validators=[DataRequired()],
        description=_l("The facts: what, where, when, against which requirement."),
    )
    source = SelectField(_l("Source"), validators=[DataRequired()], validate_choice=False)
    supplier = SelectField(
        _l("External provider"),
        validate_choice=False,
        description=_l("The provider the nonconformity is about, if any."),
    )
    severity = SelectField(_l("Severity"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    clause = StringField(
        _l("ISO 9001:2015 clause"),
        validators=[Optional(), Length(max=20)],
        description=_l("e.g. 8.5.1"),
    )
    documents = SelectMultipleField(
        _l("Documents concerned"),
        validate_choice=False,
        description=_l("Each is pinned to the revision in force today."),
    )
    records = StringField(
        _l("Records as evidence"),
        validators=[Optional(), Length(max=400)],
        description=_l("Record numbers, separated by commas."),
    )
    responsible = SelectField(_l("Responsible person"), validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])
    files = MultipleFileField(
        _l("Files as evidence"), description=_l("Photos, scans or documents of what was found.")
    )
    submit = SubmitField(_l("Raise nonconformity"))
    similar = SubmitField(_l("Look for similar nonconformities"))


class FilterForm(FlaskForm):
    """The NC list's filters, read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"))
    state = SelectField(_l("State"), validate_choice=False)
    source = SelectField(_l("Source"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    severity = SelectField(_l("Severity"), validate_choice=False)
    clause = StringField(_l("Clause"))


class ActionFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"), validate_choice=False)
    action_type = SelectField(_l("Type"), validate_choice=False)


class TransitionForm(FlaskForm):
    """One workflow step; the page shows only the fields that step needs."""

    to = HiddenField(validators=[DataRequired()])
    containment = TextAreaField(
        _l("What was done at once"), validators=[Optional(), Length(max=4000)]
    )
    containment_by = SelectField(_l("Done by"), validate_choice=False)
    containment_on = DateField(_l("Done on"), validators=[Optional()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=4000)])
    result = TextAreaField(_l("Result of the check"), validators=[Optional(), Length(max=4000)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Confirm"))


class AnalysisForm(FlaskForm):
    why1 = StringField(_l("Why 1"), validators=[Optional(), Length(max=500)])
    why2 = StringField(_l("Why 2"), validators=[Optional(), Length(max=500)])
    why3 = StringField(_l("Why 3"), validators=[Optional(), Length(max=500)])
    why4 = StringField(_l("Why 4"), validators=[Optional(), Length(max=500)])
    why5 = StringField(_l("Why 5"), validators=[Optional(), Length(max=500)])
    cause_category = SelectField(_l("Cause category"), validate_choice=False)
    root_cause = TextAreaField(_l("Root cause"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save analysis"))

    def whys(self) -> list[str]:
        return [getattr(self, f"why{i}").data or "" for i in range(1, 6)]


class AssignForm(FlaskForm):
    responsible = SelectField(_l("Responsible person"), validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])
    submit = SubmitField(_l("Assign"))


class EvidenceForm(FlaskForm):
    record = StringField(_l("Record number"), validators=[Optional(), Length(max=40)])
    url = StringField(_l("Link"), validators=[Optional(), Length(max=500)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    file = FileField(_l("File"))
    document = SelectField(_l("Document concerned"), validate_choice=False)
    submit = SubmitField(_l("Add evidence"))


class ActionForm(FlaskForm):
    action_type = SelectField(_l("Type"), validators=[DataRequired()], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    owner = SelectField(_l("Owner"), validators=[DataRequired()], validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[DataRequired()])
    effectiveness_criteria = TextAreaField(
        _l("Effectiveness criteria"),
        validators=[Optional(), Length(max=4000)],
        description=_l("How you will know it worked, e.g. no recurrence in 3 months."),
    )
    check_date = DateField(_l("Check effectiveness on"), validators=[Optional()])
    nonconformity = HiddenField()
    origin = SelectField(_l("Comes from"), validate_choice=False)
    origin_ref = StringField(
        _l("Reference"),
        validators=[Optional(), Length(max=120)],
        description=_l("The risk, trend, review or suggestion behind it."),
    )
    submit = SubmitField(_l("Plan action"))


class ActionStepForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=4000)])
    result = TextAreaField(_l("Result of the check"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Confirm"))


class ActionPlanForm(FlaskForm):
    effectiveness_criteria = TextAreaField(
        _l("Effectiveness criteria"), validators=[Optional(), Length(max=4000)]
    )
    check_date = DateField(_l("Check effectiveness on"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class ChangeRequestForm(FlaskForm):
    documents = SelectMultipleField(
        _l("Documents to change"), validators=[DataRequired()], validate_choice=False
    )
    reason = TextAreaField(_l("Reason for the change"), validators=[DataRequired()])
    submit = SubmitField(_l("Raise change request"))


class OutputForm(FlaskForm):
    """The nonconforming output (§8.7) and, once decided, its disposition."""

    output = StringField(
        _l("Output affected"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("e.g. inspection certificates JL-2026-0412 to 0418"),
    )
    quantity = IntegerField(_l("How many"), validators=[DataRequired(), NumberRange(min=1)])
    disposition = SelectField(_l("Disposition"), validators=[Optional()])
    disposition_note = TextAreaField(_l("What was done"), render_kw={"rows": 2})
    authorised_by = SelectField(
        _l("Concession authorised by"),
        validators=[Optional()],
        description=_l("Someone other than the person who raised the nonconformity."),
    )
    evidence_ref = StringField(
        _l("Evidence reference"),
        validators=[Optional(), Length(max=300)],
        description=_l("e.g. the number of the reissued certificate or the recall notice"),
    )
    evidence = FileField(_l("Evidence file"))

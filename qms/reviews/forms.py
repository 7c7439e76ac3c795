"""Forms for objectives, measurements, feedback and management reviews."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qms.reviews.inputs import SECTIONS, section_hint, section_title


class ObjectiveForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("e.g. Certificate error rate"),
    )
    unit = StringField(
        _l("Unit"),
        validators=[Length(max=20)],
        description=_l("e.g. %, ‰, days, per thousand cases"),
    )
    target = StringField(_l("Target"), validators=[DataRequired()])
    direction = SelectField(_l("Which direction is better"))
    frequency = SelectField(_l("Measured"))
    source = SelectField(
        _l("How it is measured"),
        description=_l("Entered by people, or computed by the system from what it knows."),
    )
    source_form = SelectField(
        _l("Record form of the outputs issued"),
        validate_choice=False,
        description=_l(
            "For a rate per thousand issued: the form whose records are the certificates or "
            "licences issued."
        ),
    )
    query = TextAreaField(
        _l("Record query"),
        render_kw={"rows": 4, "data-record-query": "1", "class": "mono"},
        description=_l(
            "For a value computed from records: the form, the records counted and, for a "
            "ratio, the base records. Built with the query builder below."
        ),
    )
    method = TextAreaField(
        _l("How it is computed"),
        render_kw={"rows": 3},
        description=_l("Formula and data source, as the owner works it out."),
    )
    owner = SelectField(_l("Owner"), validate_choice=False)
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save objective"))


class MeasurementForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=10)])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=40)])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record measurement"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        description=_l(
            "Header period,value,note; one period per line. A bad line imports nothing."
        ),
    )
    submit = SubmitField(_l("Import"))


class ComplaintForm(FlaskForm):
    channel = SelectField(_l("Channel"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    person = StringField(_l("Person (optional)"), validators=[Length(max=200)])
    content = TextAreaField(_l("Complaint"), validators=[DataRequired()], render_kw={"rows": 5})
    department = SelectField(_l("Department concerned"), validators=[DataRequired()])
    response_due = DateField(
        _l("Response due"),
        validators=[Optional()],
        description=_l("Seven days after receipt when left empty."),
    )
    submit = SubmitField(_l("Register complaint"))


class ResponseForm(FlaskForm):
    response = TextAreaField(
        _l("Response given"), validators=[DataRequired()], render_kw={"rows": 4}
    )
    satisfied = SelectField(_l("Was the customer satisfied with it?"))
    submit = SubmitField(_l("Save response"))


class SurveyForm(FlaskForm):
    period = StringField(
        _l("Period"),
        validators=[DataRequired(), Length(max=10)],
        description=_l("2026-10, 2026-Q3 or 2026"),
    )
    service = StringField(_l("Service"), validators=[DataRequired(), Length(max=200)])
    responses = IntegerField(_l("Responses"), validators=[InputRequired()])
    score = StringField(_l("Satisfied (%)"), validators=[DataRequired()])
    submit = SubmitField(_l("Record survey result"))


class ReviewForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    planned_on = DateField(_l("Meeting date"), validators=[InputRequired()])
    chair = SelectField(_l("Chair"), validators=[DataRequired()])
    attendees = SelectMultipleField(_l("Attendees"), validate_choice=False)
    period_start = DateField(
        _l("Period reviewed from"),
        validators=[Optional()],
        description=_l("The previous review's date when left empty."),
    )
    period_end = DateField(
        _l("Period reviewed to"),
        validators=[Optional()],
        description=_l("The meeting date when left empty."),
    )
    submit = SubmitField(_l("Plan review"))


def notes_form_class():
    """A form with one text box per §9.3.2 input, built when first asked for."""

    class NotesForm(FlaskForm):
        submit = SubmitField(_l("Save texts"))

    for key, clause in SECTIONS:
        setattr(
            NotesForm,
            key,
            TextAreaField(
                f"{clause} {section_title(key)}",
                description=section_hint(key),
                render_kw={"rows": 3},
            ),
        )
    return NotesForm


class HoldForm(FlaskForm):
    held_on = DateField(_l("Held on"), validators=[InputRequired()])
    discussion = TextAreaField(_l("Discussion"), render_kw={"rows": 5})
    submit = SubmitField(_l("Record the meeting and freeze the inputs"))


class DecisionForm(FlaskForm):
    kind = SelectField(_l("Decision on"))
    text = TextAreaField(_l("Decision"), validators=[DataRequired()], render_kw={"rows": 3})
    action_type = SelectField(_l("Action type"))
    action_owner = SelectField(
        _l("Action owner"),
        validate_choice=False,
        description=_l("Name an owner to create the action now."),
    )
    action_due = DateField(_l("Action due"), validators=[Optional()])
    submit = SubmitField(_l("Record decision"))


class ActionForm(FlaskForm):
    action_type = SelectField(_l("Action type"))
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=300)])
    owner = SelectField(_l("Owner"), validate_choice=False)
    due_date = DateField(_l("Due"), validators=[InputRequired()])
    submit = SubmitField(_l("Create action"))


class ApproveForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired()],
        description=_l("Signing means: approved as the minutes of this review."),
    )
    submit = SubmitField(_l("Approve minutes"))

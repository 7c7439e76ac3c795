"""Forms of the training pages; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from qms.forms import options


class RecordForm(FlaskForm):
    user = SelectMultipleField(
        _l("People trained"),
        validators=[DataRequired()],
        description=_l("Everyone who attended the session; one record is kept for each."),
    )
    document = StringField(
        _l("Document"), validators=[Optional(), Length(max=40)], description=_l("e.g. QP-07")
    )
    revision = StringField(
        _l("Revision"),
        validators=[Optional(), Length(max=10)],
        description=_l("Leave empty for the effective revision."),
    )
    competence = SelectField(_l("Or competence"), validators=[Optional()])
    trained_on = DateField(_l("Date"), validators=[DataRequired()])
    trainer = StringField(_l("Trainer"), validators=[DataRequired(), Length(max=200)])
    method = SelectField(_l("Method"))
    failed = SelectMultipleField(
        _l("Did not pass"),
        validators=[Optional()],
        description=_l("Attendees who did not pass; the others passed."),
    )
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("For a qualification; computed from its validity when left empty."),
    )
    note = TextAreaField(_l("Note"), render_kw={"rows": 2})
    evidence = FileField(_l("Evidence"), description=_l("e.g. the signed attendance sheet"))


class EvaluationForm(FlaskForm):
    effective = SelectField(
        _l("Effective?"), choices=options([("yes", _l("effective")), ("no", _l("not effective"))])
    )
    evaluation = TextAreaField(
        _l("How it was judged"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 2},
    )
    evaluated_on = DateField(_l("Evaluated on"), validators=[Optional()])


class MarkForm(FlaskForm):
    document = StringField(_l("Document"), validators=[DataRequired(), Length(max=40)])
    revision = StringField(_l("Revision"), validators=[DataRequired(), Length(max=10)])
    needs_training = BooleanField(
        _l("Needs training"), description=_l("Unticked, reading and acknowledging is enough.")
    )
    due_days = IntegerField(
        _l("Due within (days)"), default=30, validators=[DataRequired(), NumberRange(1, 365)]
    )
    evaluate = BooleanField(
        _l("Evaluate the training's effectiveness afterwards"),
        description=_l("ISO 9001 §7.2 c): for changes whose training must be shown to work."),
    )


class CompetenceForm(FlaskForm):
    name = StringField(_l("Competence"), validators=[DataRequired(), Length(max=200)])
    validity_months = IntegerField(
        _l("Valid for (months)"),
        validators=[Optional(), NumberRange(1, 240)],
        description=_l("For a qualification that expires, e.g. 24; empty if it never does."),
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    evaluate_effectiveness = BooleanField(
        _l("Evaluate the training's effectiveness afterwards"),
        description=_l("ISO 9001 §7.2 c): for changes whose training must be shown to work."),
    )


class PositionForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[DataRequired()])
    name = StringField(_l("Position"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    documents = StringField(
        _l("Documents to be trained on"),
        validators=[Length(max=2000)],
        description=_l("Document codes separated by commas, e.g. QP-07, WI-07-01"),
    )
    competences = SelectMultipleField(_l("Competences needed"), validators=[Optional()])


class RequirementsForm(FlaskForm):
    documents = PositionForm.documents
    competences = PositionForm.competences


class HolderForm(FlaskForm):
    user = SelectField(_l("Person"), validators=[DataRequired()])
    since = DateField(
        _l("Holds it since"),
        validators=[Optional()],
        description=_l("Initial training falls due from this date; today when left empty."),
    )

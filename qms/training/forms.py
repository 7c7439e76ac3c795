"""Forms of the training pages; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class RecordForm(FlaskForm):
    user = SelectField(_l("Person trained"), validators=[DataRequired()])
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
    result = SelectField(_l("Result"))
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("For a qualification; computed from its validity when left empty."),
    )
    note = TextAreaField(_l("Note"), render_kw={"rows": 2})
    evidence = FileField(_l("Evidence"))


class MarkForm(FlaskForm):
    document = StringField(_l("Document"), validators=[DataRequired(), Length(max=40)])
    revision = StringField(_l("Revision"), validators=[DataRequired(), Length(max=10)])
    needs_training = BooleanField(
        _l("Needs training"), description=_l("Unticked, reading and acknowledging is enough.")
    )
    due_days = IntegerField(
        _l("Due within (days)"), default=30, validators=[DataRequired(), NumberRange(1, 365)]
    )

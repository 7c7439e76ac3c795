"""Forms of supervision and evaluation; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

#: How many criterion rows the scheme form offers (empty rows are ignored).
CRITERION_ROWS = 8


class CriterionForm(Form):
    """One row of a scheme's criteria; a row without a source is ignored."""

    source = SelectField(_l("Source"), validators=[Optional()])
    title = StringField(_l("Criterion"), validators=[Optional(), Length(max=200)])
    weight = IntegerField(_l("Weight"), validators=[Optional()])
    rule = SelectField(_l("Rule"), validators=[Optional()])
    direction = SelectField(_l("Direction"), validators=[Optional()])
    target = FloatField(_l("Target"), validators=[Optional()])
    zero = FloatField(_l("Zero point"), validators=[Optional()])
    bands = StringField(
        _l("Bands"),
        validators=[Optional(), Length(max=300)],
        description=_l("bound: points pairs, best first, e.g. 0: 100, 1: 80, 3: 50"),
    )
    form_code = StringField(_l("Record form"), validators=[Optional(), Length(max=100)])
    field = StringField(_l("Field"), validators=[Optional(), Length(max=100)])
    value = StringField(_l("On-time value"), validators=[Optional(), Length(max=100)])


class SchemeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    subject_kind = SelectField(_l("Scores"), validators=[DataRequired()])
    period = SelectField(_l("Run"), validators=[DataRequired()])
    five = FloatField(_l("★★★★★ from"), validators=[DataRequired()], default=95)
    four = FloatField(_l("★★★★ from"), validators=[DataRequired()], default=85)
    three = FloatField(_l("★★★ from"), validators=[DataRequired()], default=75)
    two = FloatField(_l("★★ from"), validators=[DataRequired()], default=60)
    criteria = FieldList(FormField(CriterionForm), min_entries=CRITERION_ROWS)


class RunForm(FlaskForm):
    scheme = SelectField(_l("Scheme"), validators=[DataRequired()])
    period = StringField(
        _l("Period"),
        validators=[DataRequired(), Length(max=10)],
        description=_l("e.g. 2026-10 (monthly), 2026-Q3 (quarterly), 2026 (yearly)"),
    )


class CorrectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired()], render_kw={"rows": 2})

"""Forms of the register of risks and opportunities; the rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class RiskForm(FlaskForm):
    kind = SelectField(_l("Risk or opportunity"))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    cause = TextAreaField(_l("Cause"), render_kw={"rows": 2})
    effect = TextAreaField(_l("Effect"), render_kw={"rows": 2})
    department = SelectField(_l("Department"), validators=[Optional()])
    process_name = StringField(
        _l("Process"),
        validators=[Optional(), Length(max=120)],
        description=_l("By the name the audit programme uses."),
    )
    likelihood = SelectField(_l("Likelihood"), validators=[DataRequired()])
    impact = SelectField(_l("Impact"), validators=[DataRequired()])
    treatment = TextAreaField(_l("Treatment"), render_kw={"rows": 2})
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    review_date = DateField(_l("Review date"), validators=[DataRequired()])


class ResidualForm(FlaskForm):
    residual_likelihood = SelectField(_l("Likelihood after treatment"))
    residual_impact = SelectField(_l("Impact after treatment"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"))
    note = TextAreaField(
        _l("Note"),
        render_kw={"rows": 2},
        description=_l("Why it is accepted without treatment, or why it is reopened."),
    )


class ActionForm(FlaskForm):
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    due_date = DateField(_l("Due date"), validators=[DataRequired()])
    effectiveness_criteria = TextAreaField(_l("Effectiveness criteria"), render_kw={"rows": 2})


class SettingsForm(FlaskForm):
    scale = SelectField(_l("Steps on each scale"))
    likelihood_names = StringField(
        _l("Likelihood names"),
        validators=[Optional(), Length(max=400)],
        description=_l("From lowest to highest, separated by commas; empty for the defaults."),
    )
    impact_names = StringField(
        _l("Impact names"),
        validators=[Optional(), Length(max=400)],
        description=_l("From lowest to highest, separated by commas; empty for the defaults."),
    )

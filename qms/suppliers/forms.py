"""Forms of the provider register; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class SupplierForm(FlaskForm):
    name = StringField(_l("Provider"), validators=[DataRequired(), Length(max=200)])
    supplies = TextAreaField(
        _l("What it supplies"), validators=[DataRequired()], render_kw={"rows": 2}
    )
    controls = TextAreaField(
        _l("Controls applied"),
        validators=[Optional()],
        render_kw={"rows": 2},
        description=_l("How its products or services are checked (§8.4.2)."),
    )
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    status = SelectField(_l("Status"))
    evaluation_months = IntegerField(
        _l("Re-evaluation interval (months)"), validators=[DataRequired()], default=12
    )
    criteria = TextAreaField(
        _l("Evaluation criteria"),
        validators=[Optional()],
        render_kw={"rows": 3},
        description=_l("One a line, as name: weight, e.g. Quality: 50"),
    )
    documents = StringField(
        _l("Governing documents"),
        validators=[Optional()],
        description=_l("Contracts and specifications by document code, separated by commas."),
    )


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired()], render_kw={"rows": 2})


class EvaluationForm(FlaskForm):
    """The scores are one field per criterion, added by the view (``score_<n>``)."""

    evaluated_on = DateField(_l("Evaluated on"), validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional()], render_kw={"rows": 2})

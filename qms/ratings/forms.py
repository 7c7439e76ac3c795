"""Forms of the ratings pages; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional


class ImportForm(FlaskForm):
    file = FileField(
        _l("File of ratings"),
        description=_l(
            "CSV or XLSX; a header row in Chinese or English: case number, item, window, "
            "channel, level, rated at (and optionally staff, the indicator scores, comment)."
        ),
    )


class RectifyForm(FlaskForm):
    finding = TextAreaField(
        _l("Finding"),
        validators=[DataRequired()],
        render_kw={"rows": 3},
        description=_l("What looking into the rating found (调查核实)."),
    )
    fix = TextAreaField(
        _l("Fix"),
        validators=[DataRequired()],
        render_kw={"rows": 3},
        description=_l("How it was put right (整改措施)."),
    )


class FollowUpForm(FlaskForm):
    on = DateField(_l("Followed up on"), validators=[DataRequired()])
    way = SelectField(_l("Way"), validators=[DataRequired()])
    result = SelectField(_l("Citizen's answer"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional()], render_kw={"rows": 2})


class CloseForm(FlaskForm):
    """Closing needs nothing but the button (and the CSRF token)."""


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired()], render_kw={"rows": 2})

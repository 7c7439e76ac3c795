"""The fixed forms of record pages; the forms staff fill are built in :mod:`.fields`."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField(_l("Void this record"))


class ActionForm(FlaskForm):
    """A bare form for one-click actions, so that they carry a CSRF token."""

    submit = SubmitField(_l("Confirm"))


class FilterForm(FlaskForm):
    """The record list's filters, read from the query string."""

    class Meta:
        csrf = False

    form = SelectField(_l("Form"), validate_choice=False)
    date_from = DateField(_l("Submitted from"), validators=[Optional()])
    date_to = DateField(_l("Submitted to"), validators=[Optional()])
    department = SelectField(_l("Department"), validate_choice=False)
    submitter = SelectField(_l("Submitted by"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    field = SelectField(_l("Field"), validate_choice=False)
    value = StringField(_l("Value contains"), validators=[Optional(), Length(max=200)])

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

    # Typed, not chosen from a list: thousands of forms and users made every list page
    # carry them all as options (the records page lists the forms, linking here).
    form = StringField(
        _l("Form"),
        validators=[Optional(), Length(max=40)],
        render_kw={"placeholder": _l("form code, e.g. RF-01")},
    )
    date_from = DateField(_l("Submitted from"), validators=[Optional()])
    date_to = DateField(_l("Submitted to"), validators=[Optional()])
    department = SelectField(_l("Department"), validate_choice=False)
    submitter = StringField(
        _l("Submitted by"),
        validators=[Optional(), Length(max=80)],
        render_kw={"placeholder": _l("user name")},
    )
    status = SelectField(_l("Status"), validate_choice=False)
    field = SelectField(_l("Field"), validate_choice=False)
    value = StringField(_l("Value contains"), validators=[Optional(), Length(max=200)])

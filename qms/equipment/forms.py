"""Forms of the equipment pages; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class EquipmentForm(FlaskForm):
    number = StringField(
        _l("Identification number"),
        validators=[Optional(), Length(max=40)],
        description=_l("As marked on the instrument; leave empty to number it EQ-0001 …"),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    serial = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    department = SelectField(_l("Department"), validators=[Optional()])
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    measurement = StringField(
        _l("Measurement it serves"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("e.g. mass, length, temperature; a record form field may ask for it."),
    )
    kind = SelectField(_l("Calibration or verification"))
    interval_value = IntegerField(_l("Interval"), validators=[InputRequired()])
    interval_unit = SelectField(_l("Interval unit"))
    last_calibrated_on = DateField(
        _l("Last calibrated on"),
        validators=[Optional()],
        description=_l("Leave empty if it has no calibration in force yet."),
    )
    note = TextAreaField(_l("Note"), validators=[Optional()], render_kw={"rows": 2})


class CalibrationForm(FlaskForm):
    performed_on = DateField(_l("Performed on"), validators=[DataRequired()])
    result = SelectField(_l("Result"), validators=[DataRequired()])
    performed_by = StringField(
        _l("Performed by"),
        validators=[Optional(), Length(max=200)],
        description=_l("The laboratory or the person who did it."),
    )
    certificate = FileField(_l("Certificate"))
    note = TextAreaField(_l("Note"), validators=[Optional()], render_kw={"rows": 2})


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional()], render_kw={"rows": 2})


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    measurement = SelectField(_l("Measurement"), validators=[Optional()])
    due = SelectField(_l("Calibration"), validators=[Optional()])

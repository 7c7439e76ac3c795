"""Forms of the service catalogue; the rules themselves live in :mod:`catalogue`."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ItemForm(FlaskForm):
    code = StringField(
        _l("Item code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("The code of the item in the government service catalogue (事项编码)."),
    )
    name = StringField(_l("Service item"), validators=[DataRequired(), Length(max=300)])
    legal_basis = TextAreaField(
        _l("Legal basis"),
        validators=[Optional()],
        render_kw={"rows": 2},
        description=_l("The laws and regulations that set up the item (设定依据)."),
    )
    statutory_days = IntegerField(
        _l("Statutory time limit (working days)"), validators=[Optional()]
    )
    promised_days = IntegerField(
        _l("Promised time limit (working days)"),
        validators=[Optional()],
        description=_l("No longer than the statutory limit."),
    )
    department = SelectField(_l("Department"), validators=[Optional()])
    windows = SelectMultipleField(_l("Windows"), validators=[Optional()])
    documents = StringField(
        _l("Governing documents"),
        validators=[Optional()],
        description=_l("Procedures and work specifications by code, separated by commas."),
    )
    standards = StringField(
        _l("Governing standards"),
        validators=[Optional()],
        description=_l("External standards by number, separated by commas."),
    )


class WindowForm(FlaskForm):
    code = StringField(_l("Window code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Window"), validators=[DataRequired(), Length(max=200)])
    department = SelectField(_l("Department"), validators=[Optional()])


class ImportForm(FlaskForm):
    file = FileField(
        _l("Catalogue file (XLSX or CSV)"),
        description=_l(
            "A header row (事项编码, 事项名称, 法定时限, 承诺时限, 部门, 窗口…), then one "
            "item a row. Items are matched by code: importing the same file again changes "
            "nothing."
        ),
    )

"""Forms of the standard system; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class StandardForm(FlaskForm):
    number = StringField(
        _l("Standard number"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("As printed on the standard, e.g. GB/T 39734-2020."),
    )
    title = StringField(_l("Standard title"), validators=[DataRequired(), Length(max=300)])
    edition = StringField(
        _l("Edition / year"),
        validators=[Optional(), Length(max=40)],
        description=_l("Left empty, the year of the number."),
    )
    issuing_body = StringField(_l("Issuing body"), validators=[Optional(), Length(max=200)])
    effective_on = DateField(_l("Effective on"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    document = StringField(
        _l("Controlled copy"),
        validators=[Optional(), Length(max=40)],
        description=_l("The code of the register document that is its controlled copy."),
    )


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    replaced_by = StringField(
        _l("Replaced by"),
        validators=[Optional(), Length(max=80)],
        description=_l("The number of the standard that replaces it."),
    )
    successor_title = StringField(
        _l("Title of the new standard"),
        validators=[Optional(), Length(max=300)],
        description=_l("Only when the new standard is not in the register yet: it is added."),
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional()], render_kw={"rows": 2})


class CitationForm(FlaskForm):
    documents = StringField(
        _l("Citing documents"),
        validators=[DataRequired()],
        description=_l("Document codes, separated by commas."),
    )


class CategoryForm(FlaskForm):
    scheme = StringField(
        _l("Scheme"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("A new key starts a new scheme, e.g. services."),
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    parent = SelectField(_l("Under"), validators=[Optional()])


class CategoryChangeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    parent = SelectField(_l("Under"), validators=[Optional()])
    position = IntegerField(_l("Position"), validators=[Optional()])

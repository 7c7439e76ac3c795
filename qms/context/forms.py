"""Forms of the context registers; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class IssueForm(FlaskForm):
    kind = SelectField(_l("Internal or external"))
    title = StringField(_l("Issue"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    review_date = DateField(_l("Review date"), validators=[DataRequired()])


class PartyForm(FlaskForm):
    name = StringField(_l("Interested party"), validators=[DataRequired(), Length(max=200)])
    needs = TextAreaField(
        _l("Needs and expectations"), validators=[DataRequired()], render_kw={"rows": 2}
    )
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    review_date = DateField(_l("Review date"), validators=[DataRequired()])


class LegalForm(FlaskForm):
    law = StringField(
        _l("Law, regulation or standard"), validators=[DataRequired(), Length(max=300)]
    )
    article = StringField(_l("Article"), validators=[Optional(), Length(max=100)])
    requirement = TextAreaField(
        _l("What it requires"), validators=[DataRequired()], render_kw={"rows": 3}
    )
    documents = StringField(
        _l("Implementing documents"),
        validators=[Optional()],
        description=_l("Document codes separated by commas, e.g. QP-07, WI-12"),
    )
    status = SelectField(_l("Status"))
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    review_date = DateField(_l("Review date"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason for the change"),
        validators=[Optional()],
        render_kw={"rows": 2},
        description=_l("A change to what it requires raises a change request on each document."),
    )

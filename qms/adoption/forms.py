"""Forms for subscribing to an upstream and adopting its documents."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


class SubscribeForm(FlaskForm):
    name = StringField(
        _l("Short name"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Lower-case letters, digits and dashes, e.g. province-std."),
    )
    url = StringField(
        _l("Repository URL or path"),
        validators=[DataRequired(), Length(max=500)],
        description=_l(
            "The upstream QMS's document repository: https://…, ssh://…, or a path on this "
            "server such as /srv/province/documents.git."
        ),
    )
    submit = SubmitField(_l("Subscribe"))


class AdoptForm(FlaskForm):
    mode = RadioField(
        _l("Adopt as"),
        default="new",
        validators=[DataRequired()],
    )
    local_code = StringField(
        _l("Local code"),
        validators=[Optional(), Length(max=40)],
        description=_l("For a new document; the upstream code when left empty."),
    )
    parent = SelectField(_l("Parent document"), validate_choice=False)
    department = SelectField(_l("Owner department"), validate_choice=False)
    into = SelectField(
        _l("Local document to revise"),
        validate_choice=False,
        description=_l("For a new revision of a document you already have."),
    )
    submit = SubmitField(_l("Adopt as a draft"))


class ButtonForm(FlaskForm):
    """A bare form for one-button actions: only its CSRF token matters."""

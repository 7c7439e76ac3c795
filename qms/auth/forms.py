"""Login and profile forms."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from qms.auth.labels import ROLE_LABELS
from qms.forms import options
from qms.i18n import LANGUAGES

# One "@" with something on both sides and a dot in the domain: enough to catch a typing
# slip. WTForms' Email() needs the email_validator package, which is not installed, and
# answered every profile form with an address with a 500.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def email_address(form, field) -> None:
    """Refuse an address that cannot be one."""
    if field.data and not _EMAIL.match(field.data.strip()):
        raise ValidationError(_l("This is not an email address."))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"))
    email = StringField(_l("Email"), validators=[Optional(), Length(max=200), email_address])
    locale = SelectField(
        _l("Language"),
        choices=options([("", _l("As my browser")), *LANGUAGES.items()]),
    )
    submit = SubmitField(_l("Save"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class ResetPasswordForm(FlaskForm):
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired()],
        description=_l("The user must choose their own password at the next sign-in."),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Reset password"))


class RolesForm(FlaskForm):
    roles = SelectMultipleField(
        _l("Roles"),
        choices=options(ROLE_LABELS.items()),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    submit = SubmitField(_l("Save roles"))


class DepartmentForm(FlaskForm):
    department = StringField(_l("Department"), validators=[DataRequired(), Length(max=120)])
    submit = SubmitField(_l("Move"))


class ActionForm(FlaskForm):
    """A button alone (switch off, unlock, revoke): the CSRF token is its only field."""


class TokenForm(FlaskForm):
    label = StringField(
        _l("Label"),
        validators=[Length(max=120)],
        description=_l("What the token is for, e.g. the script or machine that uses it."),
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[
            DataRequired(message=_l("Give the number of days.")),
            NumberRange(min=1, max=730, message=_l("Between 1 and 730 days.")),
        ],
    )
    submit = SubmitField(_l("Create token"))

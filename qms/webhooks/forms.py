"""Forms of the webhook pages; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class SubscriptionForm(FlaskForm):
    url = StringField(
        _l("Receiver's address"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("An http:// or https:// URL; each event is POSTed to it as JSON."),
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    events = SelectMultipleField(
        _l("Events"),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        # No DataRequired: it would mark every checkbox required, so a browser would
        # insist on all of them. The service refuses an empty choice beside the field.
        validators=[Optional()],
    )
    active = BooleanField(_l("Active"), default=True)

"""The search form: read from the query string, so a search is a link that can be shared."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SearchField, SelectMultipleField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from qms.search.services import MAX_QUERY


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form changes nothing

    q = SearchField(_l("Search for"), validators=[Optional(), Length(max=MAX_QUERY)])
    type = SelectMultipleField(
        _l("Only"),
        validators=[Optional()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    all_revisions = BooleanField(_l("All revisions, not only the effective ones"))

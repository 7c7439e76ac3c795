"""Forms for importing an existing system and pushing the mirror."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from qms.transfer.importing import DEFAULT_PATTERN


class ImportForm(FlaskForm):
    files = MultipleFileField(
        _l("Files"),
        description=_l(
            "One zip file of the whole system, or the documents themselves: "
            "DOCX, ODT, HTML or Markdown."
        ),
    )
    mapping = FileField(
        _l("Mapping (optional)"),
        description=_l(
            "A CSV file with the columns file, code, title, type and optionally parent and "
            "department. Without it, codes and titles come from the file names."
        ),
    )
    pattern = StringField(
        _l("File-name pattern"),
        validators=[Optional(), Length(max=300)],
        default=DEFAULT_PATTERN,
        description=_l(
            "A regular expression with the groups code and title, used when there is no "
            "mapping: e.g. “QP-07 Document control.docx”."
        ),
    )
    submit = SubmitField(_l("Check the files"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Import"))


class PushForm(FlaskForm):
    submit = SubmitField(_l("Push to the mirror now"))

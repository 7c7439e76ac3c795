"""A record form imported from Word without field definitions comes in printable, its
fields proposed from its first table's header row, confirmed in the builder before staff
can fill it online."""

import pytest

from qms import render
from qms.documents import services as documents
from qms.errors import Conflict
from qms.records import builder
from qms.records import services as records
from qms.transfer import importing
from tests.test_transfer_import import write

FORM = "# Visitors log\n\n| Date | Visitor name | 签名 |\n|---|---|---|\n|  |  |  |\n"


@pytest.fixture
def imported(users, tmp_path, ctx):
    src = tmp_path / "src"
    write(src, "QP-01 Visits.md", "# Visits\n\nHow visitors are received.\n")
    (src / "RF-01-01 Visitors log.docx").write_bytes(render.to_editable_docx(FORM))
    importing.run(users["admin"], src)
    return documents.get_document("RF-01-01")


def test_a_word_form_without_fields_is_imported_printable_with_fields_proposed(imported):
    assert imported.status == "effective"
    meta, body = render.split_front_matter(
        documents.revision_content(documents.effective_revision(imported))
    )
    assert meta["printable"] is True and "fields" not in meta
    assert meta["proposed_fields"] == [
        {"key": "date", "label": "Date", "type": "text"},
        {"key": "visitor_name", "label": "Visitor name", "type": "text"},
        {"key": "field_3", "label": "签名", "type": "text"},
    ]
    assert "Visitor name" in body  # still printable as it was


def test_a_printable_form_cannot_be_filled_online(imported):
    with pytest.raises(Conflict, match="printable form"):
        records.fillable("RF-01-01")


def test_the_builder_starts_from_the_proposed_fields_and_confirming_makes_it_fillable(
    imported, users, client, auth
):
    documents.open_draft(users["author"], imported)
    from qms.extensions import db

    db.session.commit()
    auth.login("author")
    page = client.get("/records/builder/RF-01-01").get_data(as_text=True)
    assert 'value="visitor_name"' in page and 'value="签名"' in page
    fields = [
        {"key": "date", "label": "Date", "type": "date", "required": True},
        {"key": "visitor_name", "label": "Visitor name", "type": "text"},
    ]
    builder.save_fields(users["author"], imported, fields)
    meta, _body = render.split_front_matter(
        documents.revision_content(documents.open_revision(imported))
    )
    assert [f["key"] for f in meta["fields"]] == ["date", "visitor_name"]
    assert "printable" not in meta and "proposed_fields" not in meta


def test_a_form_without_fields_is_still_refused_when_not_printable(users):
    doc = documents.create_document(users["author"], "RF-09", "Log", "record_form")
    with pytest.raises(Exception, match="at least one field"):
        documents.save_draft(users["author"], doc, "---\ncode: RF-09\n---\n\n# Log\n", "x")

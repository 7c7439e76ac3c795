"""The structured editor: properties as fields, the body in the Markdown editor, the front
matter written by the application."""

from qms import render
from qms.documents import services
from qms.extensions import db
from tests import builders
from tests.conftest import PASSWORD  # noqa: F401


def draft_text(doc) -> str:
    return services.revision_content(services.open_revision(doc))


def test_the_editor_shows_properties_and_the_body_without_front_matter(users, client, auth):
    builders.new_document(users, department="Quality Office")
    auth.login("author")
    page = client.get("/documents/QP-07/edit").get_data(as_text=True)
    assert 'name="title"' in page and 'name="clauses"' in page and 'name="distribution"' in page
    assert "data-markdown-editor" in page and "toastui-editor.bundle.min.js" in page
    body = page.split('name="body"', 1)[1].split("</textarea>", 1)[0]
    assert "---" not in body and "# Document control" in body


def test_saving_writes_the_front_matter_from_the_properties(users, client, auth):
    builders.new_document(users, department="Quality Office")
    auth.login("author")
    data = {
        "title": "Control of documented information",
        "parent": "",
        "department": "Service Hall",
        "clauses": ["7.5.3", "7.5"],
        "distribution": ["Quality Office"],
        "review_interval_months": "24",
        "body": "# Control of documented information\r\n\r\n"
        "| a | b |\r\n|---|---|\r\n| 1 | 2 |\r\n",
        "summary": "Reworded the purpose",
    }
    response = client.post("/documents/QP-07/edit", data=data)
    assert response.status_code == 302
    doc = services.get_document("QP-07")
    meta, body = render.split_front_matter(draft_text(doc))
    assert meta["title"] == "Control of documented information"
    assert meta["clauses"] == ["7.5", "7.5.3"] and meta["review_interval_months"] == 24
    assert meta["department"] == "Service Hall" and meta["distribution"] == ["Quality Office"]
    # The front matter's summary is this revision's, not the one before.
    assert meta["summary"] == "Reworded the purpose"
    assert "| 1 | 2 |" in body and "\r" not in body
    # The register follows the properties; the title with the release, as before.
    assert doc.department.name == "Service Hall" and doc.review_interval_months == 24
    assert [d.department.name for d in doc.distribution] == ["Quality Office"]
    # Saved again with the same readers: the register keeps its rows.
    data["summary"] = "Again"
    assert client.post("/documents/QP-07/edit", data=data).status_code == 302


def test_other_front_matter_is_kept(users, client, auth):
    doc = builders.new_document(users, "RF-09", "Visit record", "record_form")
    fields = "fields:\n  - {key: visitor, label: Visitor, type: text, required: true}\n"
    text = f"---\ncode: RF-09\ntitle: Visit record\ntype: record_form\n{fields}---\n\n# Visits\n"
    services.save_draft(users["author"], doc, text, "First issue")
    db.session.commit()
    auth.login("author")
    page = client.get("/documents/RF-09/edit").get_data(as_text=True)
    assert 'name="preview-visitor"' in page  # the form as staff will see it
    data = {
        "title": "Visit record",
        "review_interval_months": "12",
        "body": "# Visits\n",
        "retention_years": "3",
        "summary": "First issue",
    }
    assert client.post("/documents/RF-09/edit", data=data).status_code == 302
    meta, _body = render.split_front_matter(draft_text(doc))
    assert meta["fields"] == [
        {"key": "visitor", "label": "Visitor", "type": "text", "required": True}
    ]
    assert meta["retention_years"] == 3


def test_a_refused_save_keeps_what_was_typed_and_commits_nothing(users, client, auth):
    doc = builders.new_document(users, department="Quality Office")
    auth.login("author")
    data = {
        "title": "Document control",
        "department": "Quality Office",
        "review_interval_months": "12",
        "body": "# Document control\n\n<script>alert(1)</script>\n\nMy careful paragraph.",
        "summary": "First issue",
    }
    response = client.post("/documents/QP-07/edit", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Scripts are not allowed" in page and "My careful paragraph." in page
    assert services.open_revision(doc) is None


def test_the_source_editor_is_still_there(users, client, auth):
    builders.new_document(users)
    auth.login("author")
    page = client.get("/documents/QP-07/edit?mode=source").get_data(as_text=True)
    assert 'name="content"' in page and "code: QP-07" in page

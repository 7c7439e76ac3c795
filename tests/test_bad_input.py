"""Bad input gets a clear message, keeps what was typed, and never causes a 500."""

import html

import pytest

from qms.documents import services
from tests.builders import content, new_document


@pytest.fixture
def author(users, auth):
    auth.login("author")


def save(client, text, **extra):
    data = {"content": text, "summary": "Edit", "submit": "Save draft", **extra}
    return client.post("/documents/QP-07/edit", data=data)


@pytest.mark.parametrize(
    "code", ["QP/07", "../QP", "QP 07", "", "-QP", "QP..07", "a" * 41, "QP-07.lock", "new"]
)
def test_bad_codes_are_refused_on_the_form(client, author, code):
    response = client.post(
        "/documents/new",
        data={
            "code": code,
            "title": "My title",
            "doc_type": "procedure",
            "department": "Service Hall",
            "review_interval_months": "12",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "field-error" in page
    assert 'value="My title"' in page  # what was typed is still there
    assert services.list_documents() is not None


@pytest.mark.parametrize(
    "body, message",
    [
        ("<script>alert(1)</script>", "Scripts are not allowed"),
        ('<img src="x.png" onerror="alert(1)">', "Event handlers are not allowed"),
        ("[click](javascript:alert(1))", "This link is not allowed"),
        ('<iframe src="https://example.org"></iframe>', "Embedded content is not allowed"),
    ],
)
def test_unsafe_markdown_is_refused_and_text_kept(users, client, author, body, message):
    new_document(users)
    text = content("QP-07", body=f"# Title\n\nKeep this sentence.\n\n{body}\n")
    response = save(client, text)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "Keep this sentence." in html.unescape(page)
    assert services.open_revision(services.get_document("QP-07")) is None


def test_broken_front_matter_is_refused_and_text_kept(users, client, author):
    new_document(users)
    text = "---\ncode: QP-07\ntitle: [unclosed\n---\n\nBody kept.\n"
    response = save(client, text)
    page = html.unescape(response.get_data(as_text=True))
    assert "front matter is not valid YAML" in page
    assert "title: [unclosed" in page


def test_front_matter_naming_another_code_is_refused(users, client, author):
    new_document(users)
    response = save(client, content("QP-99"))
    assert "names code QP-99" in response.get_data(as_text=True)


def test_content_over_the_size_limit_is_refused_and_kept(app, users, client, author):
    app.config["QMS_MAX_CONTENT_BYTES"] = 2000
    new_document(users)
    text = content("QP-07", body="# Big\n\n" + "word " * 1000)
    response = save(client, text)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "the limit is 1 KB" in page
    assert "word word word" in page


def test_stale_edit_from_a_second_tab_keeps_the_typed_text(users, client, author):
    new_document(users)
    rev = services.save_draft(
        users["author"], services.get_document("QP-07"), content("QP-07"), "One"
    )
    opened = rev.head_commit
    services.save_draft(
        users["author2"],
        services.get_document("QP-07"),
        content("QP-07", body="# Other tab\n"),
        "Two",
        base_commit=opened,
    )
    mine = content("QP-07", body="# Mine\n\nMy careful words.\n")
    response = save(client, mine, base_commit=opened)
    page = html.unescape(response.get_data(as_text=True))
    assert "Someone saved this draft after you opened it" in page
    assert "My careful words." in page
    current = services.revision_content(services.open_revision(services.get_document("QP-07")))
    assert "Other tab" in current


def test_rendered_html_is_sanitised_even_if_stored(users, client, author):
    """Content that reached git some other way is still shown safely."""
    from qms.documents.rendering import preview

    out = str(preview("# T\n\n<script>alert(1)</script>\n\n<a href='javascript:x'>x</a>"))
    assert "<script" not in out and "javascript:" not in out


def test_unknown_pages_and_revisions_are_404_not_500(users, client, author):
    new_document(users)
    assert client.get("/documents/NOPE").status_code == 404
    assert client.get("/documents/QP-07/revisions/Z").status_code == 404
    assert client.get("/documents/QP-07/diff?from=A&to=B").status_code == 404
    assert client.get("/documents/QP-07/content?format=exe").status_code == 400


def test_release_form_with_a_bad_date_explains(users, client, auth):
    from tests.builders import approved

    approved(users)
    auth.login("approver")
    response = client.post(
        "/documents/QP-07/release", data={"release-effective_date": "32/13"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert services.open_revision(services.get_document("QP-07")).status == "approved"
    response = client.post(
        "/documents/QP-07/release",
        data={"release-effective_date": "2001-01-01"},
        follow_redirects=True,
    )
    assert "cannot be in the past" in response.get_data(as_text=True)

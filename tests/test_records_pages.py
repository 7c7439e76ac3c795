"""Record pages: filling in the browser, drafts, errors beside fields, exports, injection."""

import csv
import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from qms import attachments, spreadsheets
from qms.documents import services as documents
from qms.extensions import db
from qms.records import exports, services
from qms.records.models import Attachment, Record, RecordDraft
from tests.builders_records import form_content, form_in_force, submit
from tests.test_records import VALID_AND_INVALID

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def form(users):
    return form_in_force(users)


def form_data(values: dict, action: str = "submit") -> dict:
    """Turn values as the API takes them into what the browser posts."""
    data = {"action": action}
    for key, value in values.items():
        if key == "rows":
            for n, row in enumerate(value):
                for column, cell in row.items():
                    data[f"rows-{n}-{column}"] = str(cell)
        elif isinstance(value, list):
            data[key] = value
        else:
            data[key] = str(value)
    return data


def test_record_pages_need_login(client, form):
    for path in ("/records/", "/records/all", "/records/fill/RF-01", "/records/attachments/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["staff", "author", "auditor", "approver", "admin"])
def test_record_pages_render_for_every_role(users, client, auth, form, username):
    record = submit(users, rows=[{"item": "Pen", "qty": 1}])
    auth.login(username)
    for path in (
        "/",
        "/records/",
        "/records/all",
        "/records/all?form=RF-01&field=rows.item&value=pen",
        "/records/fill/RF-01",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    # Another department's record is not found (author works in the Quality Office).
    seen = services.can_see(users[username], record)
    assert client.get(f"/records/{record.number}").status_code == (200 if seen else 404)
    retention = client.get("/records/retention").status_code
    assert retention == (200 if username in ("approver", "admin") else 403)
    shown = "/records/retention" in client.get("/records/").get_data(as_text=True)
    assert shown == services.can_review_retention(users[username]) == (retention == 200)


def test_home_page_lists_the_departments_forms_and_my_drafts(users, client, auth, form):
    services.save_draft(users["staff"], "RF-01", {"title": "half"})
    auth.login("staff")  # Service Hall, to which RF-01 is distributed
    page = client.get("/").get_data(as_text=True)
    assert "/records/fill/RF-01" in page and "/records/drafts/" in page
    auth.logout()
    auth.login("auditor")
    assert "/records/fill/RF-01" not in client.get("/").get_data(as_text=True)


def test_browser_stores_every_field_type_like_the_api(users, client, auth, form):
    auth.login("staff")
    good = {key: g for key, (g, _s, _b) in VALID_AND_INVALID.items()}
    response = client.post("/records/fill/RF-01", data=form_data(good))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    record = db.session.scalar(select(Record))
    for key, (_good, stored, _bad) in VALID_AND_INVALID.items():
        assert record.values[key] == stored, key
    assert response.headers["Location"].endswith(f"/records/{record.number}")


def test_browser_shows_each_error_beside_its_field_and_keeps_what_was_typed(
    users, client, auth, form
):
    auth.login("staff")
    for key, (_good, _stored, bad) in VALID_AND_INVALID.items():
        if key == "signed":
            continue  # a browser checkbox is ticked or not: it cannot send a bad value
        values = {"title": "Kept title", key: bad}
        response = client.post("/records/fill/RF-01", data=form_data(values))
        assert response.status_code == 200, key
        page = response.get_data(as_text=True)
        assert "field-error" in page and "There is a problem" in page, key
        if key != "title":
            assert 'value="Kept title"' in page, key
    assert db.session.scalar(select(Record.id)) is None


def test_browser_error_is_beside_the_right_field(users, client, auth, form):
    auth.login("staff")
    page = client.post("/records/fill/RF-01", data=form_data({"score": "999"})).get_data(
        as_text=True
    )
    # The score's message sits in the score field's block, the title's in the title's.
    score_block = page[page.index('id="score-error-1"') - 400 : page.index('id="score"')]
    assert "Enter at most 100" in score_block
    assert 'id="title-error-1"' in page and "This field is required" in page


def test_draft_saved_in_the_browser_is_continued_and_submitted(users, client, auth, form):
    auth.login("staff")
    response = client.post("/records/fill/RF-01", data=form_data({"score": "5"}, "draft"))
    assert response.status_code == 302
    draft_url = response.headers["Location"]
    page = client.get(draft_url).get_data(as_text=True)
    assert 'value="5"' in page
    response = client.post(draft_url, data=form_data({"score": "6", "title": "Now"}))
    assert response.status_code == 302
    record = db.session.scalar(select(Record))
    assert record.values["score"] == 6
    assert client.get(draft_url).status_code == 404


def test_draft_of_another_user_is_not_shown(users, client, auth, form):
    draft = services.save_draft(users["staff"], "RF-01", {"title": "mine"})
    auth.login("staff2")
    assert client.get(f"/records/drafts/{draft.id}").status_code == 404


def test_add_row_keeps_the_values_typed(users, client, auth, form):
    auth.login("staff")
    data = form_data({"title": "Keep me", "rows": [{"item": "First", "qty": 1}]}, "add_row:rows")
    page = client.post("/records/fill/RF-01", data=data).get_data(as_text=True)
    assert 'value="Keep me"' in page and 'value="First"' in page
    assert 'name="rows-1-item"' in page


def post_with_file(client, path, values, content, name, action="submit", **extra):
    data = {**form_data(values, action), **extra}
    data["file"] = (io.BytesIO(content), name, "application/pdf")
    return client.post(path, data=data, content_type="multipart/form-data")


def nothing_attached() -> bool:
    return db.session.scalar(select(Attachment.id)) is None and attachments.stored() == set()


def test_attachment_in_the_browser_is_served_as_a_download(users, client, auth, form):
    auth.login("staff")
    response = post_with_file(
        client, "/records/fill/RF-01", {"title": "With file"}, b"%PDF-1.4 scan", "evidence.pdf"
    )
    assert response.status_code == 302
    record = db.session.scalar(select(Record))
    with client.get(f"/records/attachments/{record.values['file']}") as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.mimetype == "application/octet-stream"
        assert download.data == b"%PDF-1.4 scan"
    detail = client.get(f"/records/{record.number}").get_data(as_text=True)
    assert "evidence.pdf" in detail


def test_a_page_that_can_run_script_is_refused_beside_the_file_field(users, client, auth, form):
    auth.login("staff")
    page = post_with_file(
        client,
        "/records/fill/RF-01",
        {"title": "Kept title"},
        b"<html><script>x</script></html>",
        "evidence.pdf",
    ).get_data(as_text=True)
    assert 'id="file-error-1"' in page and "evidence.pdf is not a kind of file" in page
    assert 'value="Kept title"' in page
    assert db.session.scalar(select(Record.id)) is None and nothing_attached()


def test_uploads_are_not_kept_before_the_record_validates(users, client, auth, form):
    auth.login("staff")
    values = {"title": "Kept title", "score": "999"}
    response = post_with_file(client, "/records/fill/RF-01", values, b"%PDF-1.4 a", "scan.pdf")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    score_block = page[page.index('id="score-error-1"') - 400 : page.index('id="score"')]
    assert "Enter at most 100" in score_block
    assert 'value="Kept title"' in page and 'value="999"' in page
    assert "scan.pdf was not kept" in page  # the file must be chosen again
    assert db.session.scalar(select(Record.id)) is None and nothing_attached()
    # The same refusal for a draft, and for a row added while a file is chosen.
    draft = post_with_file(
        client, "/records/fill/RF-01", {"score": "x"}, b"%PDF-1.4 b", "b.pdf", "draft"
    )
    assert draft.status_code == 200 and db.session.scalar(select(RecordDraft.id)) is None
    add_row = post_with_file(
        client, "/records/fill/RF-01", {"title": "T"}, b"%PDF-1.4 c", "c.pdf", "add_row:rows"
    )
    assert "c.pdf was not kept" in add_row.get_data(as_text=True) and nothing_attached()
    # Sent again with valid values, the file is kept with the record.
    response = post_with_file(client, "/records/fill/RF-01", {"title": "T"}, b"%PDF-1.4 a", "a.pdf")
    assert response.status_code == 302 and len(attachments.stored()) == 1


def test_a_draft_keeps_its_file_until_it_is_submitted(users, client, auth, form):
    auth.login("staff")
    response = post_with_file(client, "/records/fill/RF-01", {}, b"%PDF-1.4 d", "d.pdf", "draft")
    assert response.status_code == 302
    draft_url = response.headers["Location"]
    page = client.get(draft_url).get_data(as_text=True)
    kept = db.session.scalar(select(Attachment))
    assert "d.pdf" in page and f'name="file__kept" type="hidden" value="{kept.id}"' in page
    response = client.post(draft_url, data={**form_data({"title": "T"}), "file__kept": kept.id})
    assert response.status_code == 302
    assert db.session.scalar(select(Record)).values["file"] == kept.id


def test_draft_saved_time_is_shown_in_the_organisations_zone(app, users, client, auth, form):
    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    draft = services.save_draft(users["staff"], "RF-01", {"title": "half"})
    auth.login("staff")
    page = client.get(f"/records/drafts/{draft.id}").get_data(as_text=True)
    line = page[page.index("draft saved") :].split("<", 1)[0]
    assert line.strip().endswith("CST") and "UTC" not in line


def test_amend_in_the_browser_shows_both_versions(users, client, auth, form):
    record = submit(users, score=1)
    auth.login("staff")
    response = client.post(
        f"/records/{record.number}/amend",
        data={**form_data({"title": "A title", "score": "2"}), "amend_reason": "Wrong score"},
    )
    assert response.status_code == 302
    page = client.get(f"/records/{record.number}").get_data(as_text=True)
    assert "Version 1" in page and "Version 2" in page and "Wrong score" in page
    response = client.post(
        f"/records/{record.number}/amend", data=form_data({"title": "B", "score": "3"})
    )
    assert response.status_code == 200 and "Give the reason" in response.get_data(as_text=True)


def test_amend_in_the_browser_takes_files_as_filling_does(users, client, auth, form):
    record = submit(users, score=1)
    auth.login("staff")
    path = f"/records/{record.number}/amend"
    refused = post_with_file(client, path, {"title": "A title"}, b"%PDF-1.4 x", "x.pdf")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'id="amend_reason-error-1"' in page
    assert "x.pdf was not kept" in page and nothing_attached()
    response = post_with_file(
        client, path, {"title": "A title"}, b"%PDF-1.4 x", "x.pdf", amend_reason="Scan added"
    )
    assert response.status_code == 302
    assert db.session.get(Attachment, services.get_record(record.number).values["file"]).name == (
        "x.pdf"
    )


def test_no_route_changes_a_submitted_record_in_place(app, users, client, auth, form):
    record = submit(users)
    auth.login("admin")
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        response = client.open(f"/records/{record.number}", method=method, data={"title": "x"})
        assert response.status_code == 405, method
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/records/<path:number>")]
    writes = {r.rule for r in rules if r.methods & {"POST", "PUT", "PATCH", "DELETE"}}
    assert writes == {"/records/<path:number>/amend", "/records/<path:number>/void"}
    assert db.session.get(Record, record.id).version == 1


def test_void_in_the_browser_keeps_the_record_readable(users, client, auth, form):
    record = submit(users)
    auth.login("staff")
    client.post(f"/records/{record.number}/void", data={"reason": "Duplicate"})
    assert services.get_record(record.number).status == "submitted"
    auth.logout()
    auth.login("approver")
    client.post(f"/records/{record.number}/void", data={"reason": "Duplicate"})
    page = client.get(f"/records/{record.number}").get_data(as_text=True)
    assert "This record is void: Duplicate" in page and "A title" in page


def test_obsolete_form_cannot_be_filled_in_the_browser(users, client, auth, form):
    documents.obsolete(users["approver"], documents.get_document("RF-01"), "Replaced")
    auth.login("staff")
    response = client.get("/records/fill/RF-01")
    assert response.status_code == 409


def test_old_records_display_and_export_with_their_revisions_fields(users, client, auth):
    form_in_force(users, fields=[{"key": "title", "label": "Label of A", "type": "text"}])
    old = submit(users, title="old one")
    form_in_force(users, fields=[{"key": "title", "label": "Label of B", "type": "text"}])
    new = submit(users, title="new one")
    auth.login("staff")
    assert "Label of A" in client.get(f"/records/{old.number}").get_data(as_text=True)
    assert "Label of B" in client.get(f"/records/{new.number}").get_data(as_text=True)
    fill_page = client.get("/records/fill/RF-01").get_data(as_text=True)
    assert "Label of B" in fill_page and "Label of A" not in fill_page
    only_a = client.get("/records/all?form=RF-01&revision=A&format=csv").data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(only_a)))
    assert "Label of A" in header and rows[0][0] == old.number
    assert "Label of A" in exports.record_markdown(old)


def test_exports_show_script_and_formulas_as_text(users, client, auth, form):
    record = submit(users, title="=HYPERLINK(1)", notes=SCRIPT, mail="a@example.org")
    auth.login("staff")
    response = client.get("/records/all?form=RF-01&format=csv")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert "'=HYPERLINK(1)" in rows[1] and SCRIPT in rows[1]
    response = client.get("/records/all?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    assert not any(str(c.value).startswith("=") for c in cells if c.value)
    markdown = exports.record_markdown(record)
    assert "<script>" not in markdown and "\\<script\\>" in markdown


@pytest.mark.parametrize(
    "value, safe", [("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("+1", "'+1"), ("ok", "ok")]
)
def test_formula_starts_are_neutralised(value, safe):
    assert spreadsheets.neutralise(value) == safe


def test_script_in_values_is_shown_as_text_on_pages(users, client, auth, form):
    record = submit(users, title="<b>x</b>", notes=SCRIPT, rows=[{"item": SCRIPT, "qty": 1}])
    services.amend_record(users["staff"], record.number, {"title": "y", "notes": SCRIPT}, SCRIPT)
    auth.login("staff")
    for path in (f"/records/{record.number}", "/records/all", "/records/"):
        page = client.get(path).get_data(as_text=True)
        assert SCRIPT not in page and "<b>x</b>" not in page, path
    page = client.get(f"/records/{record.number}").get_data(as_text=True)
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("docx", b"PK")])
def test_one_record_prints_as_pdf_or_docx(users, client, auth, form, fmt, magic):
    record = submit(users, notes=f"{SCRIPT}\n**not bold** | pipe", rows=[{"item": "Pen", "qty": 2}])
    auth.login("staff")
    response = client.get(f"/records/{quote(record.number)}/copy?format={fmt}")
    assert response.status_code == 200
    assert response.data.startswith(magic)
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_raise_nonconformity_button_only_when_improvement_is_there(app, users, client, auth, form):
    record = submit(users)
    auth.login("staff")
    page = client.get(f"/records/{record.number}").get_data(as_text=True)
    assert ("Raise a nonconformity" in page) == ("improvement.new" in app.view_functions)


def test_link_shows_on_the_record_page(users, client, auth, form):
    record = submit(users)
    services.link_record(record.number, "nonconformity", "NC-2026-0007", users["staff"])
    auth.login("staff")
    assert "NC-2026-0007" in client.get(f"/records/{record.number}").get_data(as_text=True)


# -- the form definition in the documents editor --------------------------------------------


def test_form_draft_with_bad_definition_is_refused_and_text_kept(users, client, auth):
    documents.create_document(users["author"], "RF-09", "Form", "record_form")
    auth.login("author")
    text = form_content("RF-09", [{"key": "pick", "label": "Pick", "type": "select"}])
    response = client.post("/documents/RF-09/edit", data={"content": text, "submit": "Save"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "pick" in page and "needs a list of options" in page
    assert "type: select" in page  # the draft text is kept


def test_form_draft_preview_shows_the_form_as_staff_will_see_it(users, client, auth):
    documents.create_document(users["author"], "RF-09", "Form", "record_form")
    fields = [
        {"key": "channel", "label": "Channel", "type": "select", "options": ["window"]},
        {"key": "why", "label": SCRIPT, "type": "text"},
    ]
    auth.login("author")
    text = form_content("RF-09", fields)
    response = client.post("/documents/RF-09/edit", data={"content": text, "submit": "Save"})
    assert response.status_code == 302
    page = client.get("/documents/RF-09/edit").get_data(as_text=True)
    assert "The form as staff will see it" in page and 'name="preview-channel"' in page
    assert SCRIPT not in page.split("</textarea>", 1)[1]
    live = client.post("/documents/preview", data={"content": text}).get_data(as_text=True)
    assert 'name="preview-channel"' in live and SCRIPT not in live
    bad = form_content("RF-09", [{"key": "n", "label": "N", "type": "integer", "min": 3, "max": 1}])
    live = client.post("/documents/preview", data={"content": bad}).get_data(as_text=True)
    assert "over max" in live


def test_record_list_counts_up_to_its_cap_and_says_more(users, client, auth, form, monkeypatch):
    from qms.records import views

    for n in range(3):
        submit(users, rows=[{"item": f"Pen {n}", "qty": 1}])
    db.session.commit()
    stmt = services.list_records()
    assert services.count_up_to(stmt, 10) == 3 and services.count_up_to(stmt, 2) == 3
    assert services.count_up_to(stmt, 1) == 2  # stops one past the cap
    auth.login("approver")
    assert "3 records" in client.get("/records/all").get_data(as_text=True)
    monkeypatch.setattr(views, "COUNT_CAP", 2)
    page = client.get("/records/all").get_data(as_text=True)
    assert "More than 2 records: filter to narrow them." in page
    assert page.count('href="/records/RF-01/') >= 3  # the page itself is still listed


def test_record_list_filters_by_typed_form_and_user_without_listing_them_all(
    users, client, auth, form
):
    record = submit(users, rows=[{"item": "Pen", "qty": 1}])
    db.session.commit()
    auth.login("approver")
    page = client.get("/records/all").get_data(as_text=True)
    # No option per user or per form: the filters are typed.
    assert 'value="staff2"' not in page and '<option value="RF-01"' not in page
    assert record.number in client.get("/records/all?form=RF-01").get_data(as_text=True)
    assert record.number in client.get("/records/all?form=+RF-01+").get_data(as_text=True)
    assert record.number not in client.get("/records/all?form=RF-99").get_data(as_text=True)
    by = record.submitted_by.username
    assert record.number in client.get(f"/records/all?submitter={by}").get_data(as_text=True)
    assert record.number not in client.get("/records/all?submitter=nobody").get_data(True)

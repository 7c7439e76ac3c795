"""The record-form builder: fields edited as a list and saved to the draft's front matter."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from qms import ROOT, render
from qms.documents import services as documents
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import draft_ref
from qms.records import builder
from qms.trail import AuditEvent
from tests.builders import new_document
from tests.builders_records import form_content

FIRST = [{"key": "title", "label": "Title", "type": "text", "required": True}]


@pytest.fixture
def draft(users):
    """RF-40, a record form with a draft holding one field."""
    doc = new_document(users, "RF-40", title="Built form", doc_type="record_form")
    text = form_content("RF-40", FIRST, retention_years=3)
    documents.save_draft(users["author"], doc, text, "First issue")
    db.session.commit()
    return doc


def meta_of(doc) -> dict:
    meta, _body = render.split_front_matter(
        documents.revision_content(documents.open_revision(doc))
    )
    return meta


def head(doc) -> str:
    return documents.open_revision(doc).head_commit


def row(n: int, **values) -> dict:
    """The posted data of builder row ``n``."""
    return {f"rows-{n}-{key}": value for key, value in values.items()}


BUILT = {
    **row(0, key="result", type="radio", required="y", label="Result", label_zh_Hans="结果"),
    "rows-0-options-0-value": "pass",
    "rows-0-options-0-label": "Pass",
    "rows-0-options-0-label_zh_Hans": "通过",
    "rows-0-options-1-value": "fail",
    "rows-0-options-1-label": "Fail",
    "rows-0-options-1-label_zh_Hans": "不通过",
    "rows-0-options-2-value": "",  # an empty option row is dropped
    **row(1, key="why", type="textarea", label="Why", max_length="500"),
    **row(1, rw_field="result", rw_op="not_in", rw_values="pass"),
    **row(2, key="start", type="date", label="Start"),
    **row(3, key="end", type="date", label="End"),
    **row(4, key="days", type="integer", label="Days", computed="end - start", unit="d"),
    **row(5, key="maker", type="user", label="Made by"),
    **row(6, key="checker", type="user", label="Checked by", differs_from="maker"),
}
EXPECTED = [
    {
        "key": "result",
        "label": "Result",
        "label_zh_Hans": "结果",
        "type": "radio",
        "required": True,
        "options": [
            {"value": "pass", "label": "Pass", "label_zh_Hans": "通过"},
            {"value": "fail", "label": "Fail", "label_zh_Hans": "不通过"},
        ],
    },
    {
        "key": "why",
        "label": "Why",
        "type": "textarea",
        "max_length": 500,
        "required_when": {"field": "result", "not_in": ["pass"]},
    },
    {"key": "start", "label": "Start", "type": "date"},
    {"key": "end", "label": "End", "type": "date"},
    {"key": "days", "label": "Days", "type": "integer", "unit": "d", "computed": "end - start"},
    {"key": "maker", "label": "Made by", "type": "user"},
    {"key": "checker", "label": "Checked by", "type": "user", "differs_from": "maker"},
]


def post(client, code="RF-40", action="save", **data):
    return client.post(f"/records/builder/{code}", data={"action": action, **data})


def test_the_builder_saves_the_expected_front_matter_as_one_commit(users, client, auth, draft):
    before = head(draft)
    auth.login("author")
    response = post(client, **BUILT, base_commit=before)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert meta_of(draft)["fields"] == EXPECTED
    # The rest of the front matter and the body stay as they were.
    meta = meta_of(draft)
    assert meta["retention_years"] == 3 and meta["title"] == "Test form"
    content = documents.revision_content(documents.open_revision(draft))
    assert content.endswith("# Test form\n\nFill in every field.\n")
    commit = documents.store().commit_info(head(draft))
    assert commit.parents == (before,) and commit.trailer("Edited-with") == "form builder"
    assert documents.store().head(draft_ref("RF-40", "A")) == commit.sha
    saved = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "revision.saved")
        .order_by(AuditEvent.id.desc())
    )
    assert saved.after["head"] == commit.sha


def test_a_bad_definition_is_refused_nothing_is_committed_and_the_fields_are_kept(
    users, client, auth, draft
):
    before = head(draft)
    auth.login("author")
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    bad = {
        **row(0, key="total", type="number", label="Total", computed="part * 2"),
        **row(1, key="part", type="text", label="Part typed"),
    }
    response = post(client, **bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Field total:" in page and "a text field" in page
    assert 'id="field-0"' in page and 'value="Part typed"' in page and 'value="part * 2"' in page
    db.session.expire_all()
    assert head(draft) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_fields_move_up_and_down_and_are_removed_keeping_what_was_typed(users, client, auth, draft):
    auth.login("author")
    three = {
        **row(0, key="a", type="text", label="A"),
        **row(1, key="b", type="text", label="B typed"),
        **row(2, key="c", type="text", label="C"),
    }
    page = post(client, action="up:1", **three).get_data(as_text=True)
    assert page.index('value="B typed"') < page.index('value="A"') < page.index('value="C"')
    page = post(client, action="down:0", **three).get_data(as_text=True)
    assert page.index('value="B typed"') < page.index('value="A"')
    page = post(client, action="remove:1", **three).get_data(as_text=True)
    assert 'value="B typed"' not in page and 'value="C"' in page
    page = post(client, action="add_field", **three).get_data(as_text=True)
    assert 'name="rows-3-key"' in page
    page = post(client, action="add_option:2", **three).get_data(as_text=True)
    assert 'name="rows-2-options-0-value"' in page
    assert head(draft) == documents.open_revision(draft).head_commit  # nothing saved yet
    reordered = {
        **row(0, key="c", type="text", label="C"),
        **row(1, key="a", type="text", label="A"),
    }
    assert post(client, **reordered).status_code == 302
    assert [f["key"] for f in meta_of(draft)["fields"]] == ["c", "a"]


def test_the_builder_round_trips_what_it_does_not_edit(ctx):
    text = (Path(ROOT) / "documents" / "zh_Hans" / "RF-07-02-01.md").read_text(encoding="utf-8")
    meta, _body = render.split_front_matter(text)
    assert builder.from_rows(builder.to_rows(meta["fields"])) == meta["fields"]
    rewritten = builder.with_fields(text, meta["fields"])
    assert render.split_front_matter(rewritten) == render.split_front_matter(text)


def test_only_the_fields_block_of_the_front_matter_is_rewritten(ctx):
    text = (
        "---\ncode: RF-1\nfields:\n  - {key: a, label: A, type: text}\n# kept\n"
        "retention_years: 2\n---\n\n# Body\n"
    )
    out = builder.with_fields(text, [{"key": "b", "label": "B", "type": "date"}])
    assert out == (
        "---\ncode: RF-1\nfields:\n  - {key: b, label: B, type: date}\n# kept\n"
        "retention_years: 2\n---\n\n# Body\n"
    )


@pytest.mark.parametrize("username", ["staff", "auditor"])
def test_only_authors_may_open_or_use_the_builder(users, client, auth, draft, username):
    assert not builder.can_build(users[username], draft)
    auth.login(username)
    assert client.get("/records/builder/RF-40").status_code == 403
    assert post(client, **BUILT).status_code == 403
    with pytest.raises(PermissionDenied):
        builder.save_fields(users[username], draft, EXPECTED)
    assert meta_of(draft)["fields"] == FIRST


def test_the_builder_is_only_for_record_forms(users, client, auth):
    new_document(users, "QP-40", title="A procedure")
    assert not builder.can_build(users["author"], documents.get_document("QP-40"))
    auth.login("author")
    assert client.get("/records/builder/QP-40").status_code == 403


def test_the_builder_is_linked_from_a_record_forms_draft_page(users, client, auth, draft):
    auth.login("author")
    page = client.get("/documents/RF-40/edit").get_data(as_text=True)
    assert "/records/builder/RF-40" in page
    builder_page = client.get("/records/builder/RF-40").get_data(as_text=True)
    assert 'value="title"' in builder_page and "Traditional Chinese" in builder_page


def test_the_builders_save_is_refused_like_a_hand_edited_draft(users, draft):
    with pytest.raises(ValidationFailed) as by_builder:
        builder.save_fields(users["author"], draft, [{"key": "x", "label": "X", "type": "nope"}])
    db.session.rollback()
    hand = form_content("RF-40", [{"key": "x", "label": "X", "type": "nope"}])
    with pytest.raises(ValidationFailed) as by_hand:
        documents.save_draft(users["author"], draft, hand)
    assert by_builder.value.message == by_hand.value.message


def test_the_builder_is_closed_once_the_draft_is_sent_for_review(users, client, auth, draft):
    documents.submit(users["author"], draft)
    db.session.commit()
    assert not builder.can_build(users["author"], draft)
    auth.login("author")
    assert client.get("/records/builder/RF-40").status_code == 403
    assert "/records/builder/RF-40" not in client.get("/documents/RF-40").get_data(as_text=True)


def test_a_save_over_someone_elses_newer_save_is_refused_and_the_fields_kept(
    users, client, auth, draft
):
    stale = head(draft)
    documents.save_draft(users["author"], draft, form_content("RF-40", EXPECTED), "Second")
    db.session.commit()
    newer = head(draft)
    auth.login("author")
    response = post(client, **row(0, key="lost", type="text", label="Not lost"), base_commit=stale)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Someone saved this draft" in page
    assert 'value="Not lost"' in page
    db.session.expire_all()
    assert head(draft) == newer

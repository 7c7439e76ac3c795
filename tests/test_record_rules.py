"""Rules between record-form fields: required when, must differ from, computed; labels."""

from pathlib import Path

import pytest
from flask_babel import force_locale, refresh
from sqlalchemy import func, select

from qms import ROOT
from qms.auth.services import create_token
from qms.documents import services as documents
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.records import fields, services
from qms.records.models import Record
from qms.trail import AuditEvent
from tests.builders import effective, new_document
from tests.builders_records import form_content, form_in_force

RULE_FIELDS = [
    {
        "key": "result",
        "label": "Result",
        "type": "radio",
        "required": True,
        "options": [
            {"value": "pass", "label": "Pass", "label_zh_Hans": "通过"},
            {"value": "corrected", "label": "Corrected", "label_zh_Hans": "已更正"},
        ],
    },
    {
        "key": "error",
        "label": "Error found",
        "label_zh_Hans": "发现的差错",
        "type": "textarea",
        "required_when": {"field": "result", "not_in": ["pass"]},
    },
    {"key": "producer", "label": "Produced by", "type": "user"},
    {"key": "checker", "label": "Checked by", "type": "user", "differs_from": "producer"},
    {"key": "start", "label": "Start", "type": "date"},
    {"key": "end", "label": "End", "type": "date"},
    {"key": "days", "label": "Days taken", "type": "integer", "computed": "end - start"},
    {"key": "weight", "label": "Weight", "type": "number"},
    {"key": "double", "label": "Double", "type": "number", "computed": "weight * 2", "max": 100},
]
GOOD = {
    "result": "pass",
    "producer": "staff",
    "checker": "staff2",
    "start": "2026-03-01",
    "end": "2026-03-11",
    "weight": "2.5",
}
NOT_PASS = "Required when Result is not Pass."
SAME_PERSON = "Checked by must be someone other than Produced by."


@pytest.fixture
def form(users):
    return form_in_force(users, "RF-20", RULE_FIELDS)


@pytest.fixture
def api(client, users):
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="staff", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def submit(users, **values):
    return services.submit_record(users["staff"], "RF-20", {**GOOD, **values})


def refused(call) -> dict:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.detail


def records() -> int:
    return db.session.scalar(select(func.count()).select_from(Record))


# -- the service: submit and amend ---------------------------------------------------------


def test_a_field_required_unless_the_result_is_pass_is_refused_when_empty(users, form):
    assert refused(lambda: submit(users, result="corrected")) == {"error": [NOT_PASS]}
    assert records() == 0
    assert submit(users, result="pass").values["result"] == "pass"
    record = submit(users, result="corrected", error="Wrong address")
    assert record.values["error"] == "Wrong address"


def test_a_required_when_rule_holds_on_amendment_too(users, form):
    record = submit(users)
    detail = refused(
        lambda: services.amend_record(
            users["staff"], record.number, {**GOOD, "result": "corrected"}, "Found an error"
        )
    )
    assert detail == {"error": [NOT_PASS]}
    db.session.rollback()
    assert db.session.get(Record, record.id).version == 1


def test_the_checker_must_not_be_the_producer(users, form):
    assert refused(lambda: submit(users, checker="staff")) == {"checker": [SAME_PERSON]}
    record = submit(users)
    detail = refused(
        lambda: services.amend_record(
            users["staff"], record.number, {**GOOD, "checker": "staff"}, "Checker changed"
        )
    )
    assert detail == {"checker": [SAME_PERSON]}


def test_a_computed_value_is_computed_by_the_server_never_taken_as_typed(users, form):
    record = submit(users, days="999", double="1")
    assert record.values["days"] == 10 and record.values["double"] == 5
    # A missing operand leaves the computed field empty rather than guessing.
    assert "days" not in submit(users, end="").values


def test_a_computed_value_is_computed_again_on_amendment(users, form):
    record = submit(users)
    services.amend_record(
        users["staff"], record.number, {**GOOD, "end": "2026-03-21", "weight": "4"}, "Dates"
    )
    assert record.values["days"] == 20 and record.values["double"] == 8


def test_a_computed_value_keeps_the_fields_limits(users, form):
    detail = refused(lambda: submit(users, weight="60"))
    assert list(detail) == ["double"] and "at most 100" in detail["double"][0]


def test_rules_hold_between_a_tables_columns(users):
    table = {
        "key": "rows",
        "label": "Rows",
        "type": "table",
        "columns": [
            {"key": "qty", "label": "Quantity", "type": "integer"},
            {"key": "price", "label": "Price", "type": "number"},
            {"key": "total", "label": "Total", "type": "number", "computed": "qty * price"},
            {
                "key": "note",
                "label": "Note",
                "type": "text",
                "required_when": {"field": "qty", "filled": True},
            },
        ],
    }
    form_in_force(users, "RF-21", [table])
    raw = {"rows": [{"qty": "3", "price": "1.5", "note": "x"}]}
    record = services.submit_record(users["staff"], "RF-21", raw)
    assert record.values["rows"][0]["total"] == 4.5
    with pytest.raises(ValidationFailed) as exc:
        services.submit_record(users["staff"], "RF-21", {"rows": [{"qty": "3", "price": "1"}]})
    assert "Row 1, Note: Required when Quantity is filled in." in exc.value.detail["rows"]


# -- pages and API, with the same messages -------------------------------------------------


def test_the_page_shows_each_rule_beside_its_field_and_the_computed_one_read_only(
    users, client, auth, form
):
    auth.login("staff")
    page = client.get("/records/fill/RF-20").get_data(as_text=True)
    assert NOT_PASS in page and SAME_PERSON in page
    assert "Computed: End - Start" in page and "Computed: Weight × 2" in page
    days = page[page.index('name="days"') - 200 : page.index('name="days"') + 200]
    assert "readonly" in days


def test_a_refused_page_says_why_beside_the_field_and_keeps_what_was_typed(
    users, client, auth, form
):
    auth.login("staff")
    data = {**GOOD, "result": "corrected", "checker": "staff", "weight": "3.25", "action": "submit"}
    response = client.post("/records/fill/RF-20", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "There is a problem" in page
    assert 'id="error-error-1"' in page and 'id="checker-error-1"' in page
    assert page.count(NOT_PASS) >= 2 and page.count(SAME_PERSON) >= 2
    assert 'value="3.25"' in page and 'value="2026-03-11"' in page
    assert records() == 0
    data.update(result="pass", checker="staff2")
    assert client.post("/records/fill/RF-20", data=data).status_code == 302
    record = db.session.scalar(select(Record))
    assert record.values["double"] == 6.5


def test_a_refused_amendment_page_says_why_and_keeps_what_was_typed(users, client, auth, form):
    record = submit(users)
    auth.login("staff")
    data = {**GOOD, "checker": "staff", "amend_reason": "Checker changed", "action": "submit"}
    response = client.post(f"/records/{record.number}/amend", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and SAME_PERSON in page
    assert "Checker changed" in page
    db.session.expire_all()
    assert db.session.get(Record, record.id).version == 1


def test_the_api_refuses_with_the_same_messages_on_submit_and_amend(api, users, form):
    body = {"form": "RF-20", "values": {**GOOD, "result": "corrected", "checker": "staff"}}
    response = api("POST", "/records", json=body)
    assert response.status_code == 422
    assert response.json["detail"] == {"error": [NOT_PASS], "checker": [SAME_PERSON]}
    response = api("POST", "/records", json={"form": "RF-20", "values": {**GOOD, "days": 1}})
    assert response.status_code == 201 and response.json["values"]["days"] == 10
    number = response.json["number"]
    amend = {"values": {**GOOD, "result": "corrected"}, "reason": "Error found later"}
    response = api("POST", f"/records/{number}/amend", json=amend)
    assert response.status_code == 422 and response.json["detail"] == {"error": [NOT_PASS]}


def test_a_refusal_leaves_no_trail_event(users, form):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    refused(lambda: submit(users, checker="staff"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


# -- definitions refused at draft save and approval ----------------------------------------

BAD_DEFINITIONS = [
    (
        [{"key": "a", "label": "A", "type": "text", "required_when": {"field": "b", "in": ["x"]}}],
        "a",
        "not a field of this form",
    ),
    (
        [{"key": "a", "label": "A", "type": "user", "differs_from": "nobody"}],
        "a",
        "not a field of this form",
    ),
    (
        [
            {"key": "a", "label": "A", "type": "number", "computed": "b + 1"},
            {"key": "b", "label": "B", "type": "number", "computed": "a + 1"},
        ],
        "a",
        "cycle",
    ),
    ([{"key": "a", "label": "A", "type": "text", "computed": "1 + 2"}], "a", "not text"),
    (
        [
            {"key": "a", "label": "A", "type": "number", "computed": "b * 2"},
            {"key": "b", "label": "B", "type": "text"},
        ],
        "a",
        "a text field",
    ),
    (
        [{"key": "a", "label": "A", "type": "number", "computed": "(" * 210 + "1" + ")" * 210}],
        "a",
        "not a valid expression",
    ),
    (
        [{"key": "a", "label": "A", "type": "number", "computed": "__import__('os').getpid()"}],
        "a",
        "may only use numbers",
    ),
    (
        [
            {"key": "r", "label": "R", "type": "select", "options": ["pass"]},
            {
                "key": "a",
                "label": "A",
                "type": "text",
                "required_when": {"field": "r", "in": ["x"]},
            },
        ],
        "a",
        "x is not an option of r",
    ),
    (
        [{"key": "a", "label": "A", "type": "text", "required_when": {"field": "a", "filled": 1}}],
        "a",
        "true or false",
    ),
]


@pytest.mark.parametrize(("defs", "key", "problem"), BAD_DEFINITIONS)
def test_a_bad_rule_is_refused_at_draft_save_naming_the_field(users, defs, key, problem):
    doc = new_document(users, "RF-30", title="Test form", doc_type="record_form")
    documents.save_draft(users["author"], doc, form_content("RF-30", [GOOD_FIELD]), "First")
    db.session.commit()
    head = documents.open_revision(doc).head_commit
    with pytest.raises(ValidationFailed) as exc:
        documents.save_draft(users["author"], doc, form_content("RF-30", defs), "Rules")
    assert exc.value.detail["field"] == key and problem in exc.value.message
    db.session.rollback()
    assert documents.open_revision(doc).head_commit == head


GOOD_FIELD = {"key": "title", "label": "Title", "type": "text"}


def test_a_bad_rule_is_refused_at_submission_for_approval(users, monkeypatch):
    doc = new_document(users, "RF-31", title="Test form", doc_type="record_form")
    bad = form_content("RF-31", BAD_DEFINITIONS[0][0])
    # A draft written before the rule existed (or by hand in git) is checked again.
    monkeypatch.setattr(services, "check_form_content", lambda meta, body: None)
    monkeypatch.setitem(documents.CONTENT_VALIDATORS, "record_form", [])
    documents.save_draft(users["author"], doc, bad, "First")
    monkeypatch.undo()
    with pytest.raises(ValidationFailed) as exc:
        documents.submit(users["author"], doc)
    assert exc.value.detail["field"] == "a"


# -- labels per language -------------------------------------------------------------------


def speaks(locale: str, user) -> None:
    """Save the user's language; the tests' shared context forgets the one it had chosen."""
    user.locale = locale
    db.session.commit()
    refresh()


def test_staff_see_option_labels_in_their_language_and_the_key_is_stored(users, client, auth, form):
    speaks("zh_Hans", users["staff"])
    auth.login("staff")
    page = client.get("/records/fill/RF-20").get_data(as_text=True)
    assert ">通过<" in page and ">已更正<" in page and "发现的差错" in page
    assert ">Pass<" not in page and 'value="pass"' in page
    record = submit(users)
    assert record.values["result"] == "pass"
    assert "通过" in client.get(f"/records/{record.number}").get_data(as_text=True)
    speaks("en", users["staff"])
    assert ">Pass<" in client.get("/records/fill/RF-20").get_data(as_text=True)


def test_labels_follow_the_one_rule_own_language_then_per_language_overrides(ctx):
    (fd,) = fields.parse_fields(
        [{"key": "a", "label": "证照编号", "label_en": "Certificate number", "type": "text"}]
    )
    with force_locale("en"):
        assert fd.label == "Certificate number"
    with force_locale("zh_Hans"):
        assert fd.label == "证照编号"
    with force_locale("zh_Hant"):
        assert fd.label == "证照编号"  # no label_zh_Hant: the document's own text
    (fd,) = fields.parse_fields(
        [{"key": "a", "label": "Number", "label_zh_Hans": "编号", "type": "text"}]
    )
    with force_locale("zh_Hant"):
        assert fd.label == "编号"  # Traditional falls back to Simplified before English


# -- the starter forms ---------------------------------------------------------------------


def starter(lang: str, code: str) -> str:
    return (Path(ROOT) / "documents" / lang / f"{code}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_the_starter_certificate_check_enforces_its_written_rules(users, lang):
    text = starter(lang, "RF-07-03-01")
    new_document(users, "RF-07-03-01", title="Certificate checking", doc_type="record_form")
    effective(users, "RF-07-03-01", text=text)
    good = {
        "certificate_no": "C-1",
        "case_no": "K-1",
        "certificate_type": "licence",
        "checked_items": ["holder", "seal"],
        "result": "pass",
        "producer": "staff",
        "checker": "staff2",
        "checked_at": "2026-03-01T10:00",
    }
    services.submit_record(users["staff"], "RF-07-03-01", good)
    with pytest.raises(ValidationFailed) as exc:
        services.submit_record(
            users["staff"], "RF-07-03-01", {**good, "result": "corrected", "checker": "staff"}
        )
    assert set(exc.value.detail) == {"error_description", "checker"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_every_starter_option_has_a_label(lang):
    other = "label_zh_Hans" if lang == "en" else "label_en"

    def options(defs):
        for item in defs:
            yield from item.get("options", [])
            yield from options(item.get("columns", []))

    paths = sorted((Path(ROOT) / "documents" / lang).glob("RF-*.md"))
    assert paths
    for path in paths:
        meta, _body = split(path.read_text(encoding="utf-8"))
        for option in options(meta["fields"]):
            assert isinstance(option, dict) and option.get("label"), (path, option)
            assert option.get(other), (path, option)


def split(text: str):
    from qms import render

    return render.split_front_matter(text)

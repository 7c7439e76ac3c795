"""The boundary: text both databases can hold, malformed JSON, reads that do not write,
and errors shown the same way whether or not a unit of work rolled back."""

import io
import json
import tempfile
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from werkzeug.exceptions import HTTPException

from qms import text
from qms.auth.models import ApiToken, Department
from qms.auth.services import create_token
from qms.documents import services as documents
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.improvement.models import Nonconformity
from qms.models import aware, utcnow
from qms.records.models import Record
from qms.uow import transactional
from tests.builders import content, new_document
from tests.builders_records import form_in_force
from tests.test_improvement_pages import _form as nc_form

NUL_MESSAGE = "NUL character"
SURROGATE_MESSAGE = "lone surrogate"


@pytest.fixture
def tokens(users):
    made = {name: create_token(user) for name, user in users.items()}
    db.session.commit()
    return made


@pytest.fixture
def api(client, tokens):
    def call(method, path, username="staff", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}", **kwargs.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def ncs() -> list[Nonconformity]:
    db.session.expire_all()
    return list(db.session.scalars(select(Nonconformity)))


def records() -> list[Record]:
    db.session.expire_all()
    return list(db.session.scalars(select(Record)))


# -- text both databases hold -------------------------------------------------------------


def test_clean_removes_nul_and_replaces_lone_surrogates():
    assert text.clean("a\x00b\ud800c") == "ab\ufffdc"
    assert text.clean({"k\x00": ["x\x00", 1, None]}) == {"k": ["x", 1, None]}
    assert text.clean("中文 ok") == "中文 ok"


def test_nul_pasted_into_a_page_form_is_dropped_and_the_rest_kept(users, client, auth):
    auth.login("staff")
    response = client.post("/improvement/new", data=nc_form(title="Printer\x00 jammed"))
    assert response.status_code == 302
    (nc,) = ncs()
    assert nc.title == "Printer jammed"


def test_nul_in_a_record_value_from_the_page_is_dropped(users, client, auth):
    form_in_force(users)
    auth.login("staff")
    response = client.post(
        "/records/fill/RF-01", data={"action": "submit", "title": "Pen\x00 ok", "notes": "\x00"}
    )
    assert response.status_code == 302, response.text
    (record,) = records()
    assert record.values["title"] == "Pen ok"
    assert "\x00" not in json.dumps(record.values)


def test_nul_in_a_document_summary_from_the_page_is_dropped(users, client, auth):
    new_document(users)
    auth.login("author")
    response = client.post(
        "/documents/QP-07/edit",
        data={"content": content("QP-07"), "summary": "First\x00 issue", "submit": "Save draft"},
    )
    assert response.status_code == 302, response.text
    rev = documents.open_revision(documents.get_document("QP-07"))
    assert rev.summary == "First issue"


def test_nul_in_a_query_string_or_a_path_is_not_a_500(users, client, auth, api):
    auth.login("staff")
    assert client.get("/improvement/?q=printer\x00").status_code == 200
    assert client.get("/documents/QP\x0007").status_code == 404
    assert api("GET", "/documents/QP%0007").status_code == 404
    assert api("GET", "/nonconformities?q=%00").status_code == 200


def test_nul_in_an_uploaded_file_name_is_dropped(users, client, auth, api):
    response = api(
        "POST",
        "/records/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4 scan"), "scan\x00.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert "\x00" not in response.json.get("name", "")


NC_API = {
    "title": "Complaint: fee charged twice",
    "description": "A citizen was charged twice for one licence.",
    "source": "customer_complaint",
    "department": "Service Hall",
}


@pytest.mark.parametrize(
    "bad, status, message",
    [("fee\u0000twice", 422, NUL_MESSAGE), ("fee\ud800twice", 400, SURROGATE_MESSAGE)],
)
def test_api_refuses_nul_and_lone_surrogates_naming_the_field(api, users, bad, status, message):
    body = json.dumps({**NC_API, "title": bad})  # ensure_ascii: "\ud800" as an escape
    response = api("POST", "/nonconformities", data=body, content_type="application/json")
    assert response.status_code == status, response.json
    assert message in response.json["error"]
    assert message in response.json["detail"]["title"][0]
    assert ncs() == []


def test_api_names_the_nested_field_of_a_record_value(api, users):
    form_in_force(users)
    body = {"form": "RF-01", "values": {"title": "Pen", "rows": [{"item": "a\u0000"}]}}
    response = api("POST", "/records", json=body)
    assert response.status_code == 422
    assert NUL_MESSAGE in response.json["detail"]["values"]["rows"]["0"]["item"][0]
    assert records() == []


def test_api_refuses_nul_in_a_draft_summary(api, users):
    new_document(users)
    body = {"content": content("QP-07"), "summary": "First\u0000 issue"}
    response = api("PUT", "/documents/QP-07/draft", "author", json=body)
    assert response.status_code == 422
    assert list(response.json["detail"]) == ["summary"]
    assert documents.open_revision(documents.get_document("QP-07")) is None
    body["summary"] = "First issue"  # nothing was left behind to block the next save
    assert api("PUT", "/documents/QP-07/draft", "author", json=body).status_code == 200


def test_import_text_is_cleaned(app, tmp_path, users):
    """Markdown is read as written, so its NUL would reach the database; it is dropped."""
    from qms.transfer import importing

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "QP-09.md").write_bytes(
        b'---\ntitle: "Con\\0trol"\n---\n\n# Control\n\nA\x00 paragraph.\n'
    )
    prepared = importing.prepare(folder, check=False)
    (item,) = prepared.items
    assert "\x00" not in item.body and item.body.endswith("A paragraph.\n")
    assert item.title == "Control"


# -- malformed JSON -----------------------------------------------------------------------


def _write_endpoints() -> list[tuple[str, str]]:
    """Every POST, PUT and PATCH route of the API, its path parameters filled in."""
    from qms import create_app

    with tempfile.TemporaryDirectory() as instance:
        probe = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "probe",
                "QMS_INSTANCE": instance,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )
        rules = list(probe.url_map.iter_rules())
        with probe.app_context():
            db.engine.dispose()
    found = []
    for rule in rules:
        if not rule.rule.startswith("/api/"):
            continue
        from werkzeug.routing.converters import NumberConverter

        converters = rule._converters  # no public way to ask a rule its argument types
        values = {
            arg: 1 if isinstance(converters[arg], NumberConverter) else "X"
            for arg in rule.arguments
        }
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            found.append((method, path))
    return found


WRITE_ENDPOINTS = _write_endpoints()

MALFORMED = {
    "invalid JSON": b'{"title": ',
    "trailing comma": b'{"title": "x",}',
    "invalid UTF-8": b'{"title": "\xff\xfe"}',
    "a lone surrogate escape": b'{"title": "\\udc00"}',
    "very deep nesting": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nesting below the recursion limit": b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}",
    "a list": b"[]",
    "a string": b'"title"',
    "a number": b"1",
    "null": b"null",
    "NaN": b'{"score": NaN}',
    "too many digits": b'{"score": ' + b"9" * 5000 + b"}",
}


def test_every_write_endpoint_is_probed():
    assert len(WRITE_ENDPOINTS) >= 15
    assert ("PUT", "/api/v1/documents/X/draft") in WRITE_ENDPOINTS


@pytest.mark.parametrize("method, path", WRITE_ENDPOINTS)
def test_malformed_json_is_400_with_the_json_error_body(client, tokens, method, path):
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    for kind, body in MALFORMED.items():
        response = client.open(
            path, method=method, data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 400, (kind, response.status_code, response.data[:200])
        assert set(response.json) == {"error", "detail"}, kind
        assert response.json["error"], kind


def test_webargs_messages_as_a_list_are_a_json_error(app):
    """webargs puts location-wide messages in a list, where field messages are a dict."""
    from webargs.flaskparser import abort

    with app.test_request_context("/api/v1/documents", method="POST"):
        try:
            abort(400, messages={"json": ["Invalid JSON body."]})
        except HTTPException as exc:
            response = app.make_response(app.handle_user_exception(exc))
    assert response.status_code == 400
    assert response.json["detail"] == {"json": ["Invalid JSON body."]}


def test_api_messages_follow_the_token_owner_language(app, users):
    """The token's owner, not the browser, chooses the language of the API's messages."""
    from flask import g

    from qms.i18n import select_locale

    users["staff"].locale = "zh_Hans"
    with app.test_request_context("/api/v1/documents", headers={"Accept-Language": "en"}):
        g.api_user = users["staff"]
        assert select_locale() == "zh_Hans"


# -- reads do not write -------------------------------------------------------------------


@pytest.fixture
def updates(app):
    """Count the UPDATE statements on api_token the app's engine runs."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE") and "api_token" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_two_gets_within_a_minute_write_the_token_use_once(api, tokens, updates):
    assert api("GET", "/nonconformities").status_code == 200
    assert len(updates) == 1
    assert api("GET", "/nonconformities").status_code == 200
    assert api("GET", "/documents").status_code == 200
    assert len(updates) == 1
    row = db.session.scalar(select(ApiToken).where(ApiToken.user.has(username="staff")))
    assert row.last_used_at is not None


def test_a_token_used_a_minute_ago_is_noted_again(api, tokens, updates):
    api("GET", "/nonconformities")
    earlier = utcnow() - timedelta(minutes=2)
    db.session.execute(update(ApiToken).values(last_used_at=earlier))
    db.session.commit()
    updates.clear()
    api("GET", "/nonconformities")
    assert len(updates) == 1
    db.session.expire_all()
    row = db.session.scalar(select(ApiToken).where(ApiToken.user.has(username="staff")))
    assert aware(row.last_used_at) > earlier + timedelta(minutes=1)


def test_the_token_use_is_not_part_of_the_requests_transaction(app, api, tokens):
    """A GET's own transaction commits nothing: the note was its own short transaction."""
    commits = []

    def note(session):
        commits.append(session)

    event.listen(db.session, "after_commit", note)
    try:
        assert api("GET", "/nonconformities").status_code == 200
    finally:
        event.remove(db.session, "after_commit", note)
    assert commits == []


# -- errors inside a unit of work ---------------------------------------------------------


@pytest.fixture
def failing_app(app):
    """The app with two routes whose unit of work adds a row and then is refused."""

    @transactional
    def refuse():
        db.session.add(Department(name="Left behind"))
        db.session.flush()
        raise ValidationFailed("The rule says no.", field="name")

    @transactional
    def crash():
        db.session.add(Department(name="Left behind"))
        db.session.flush()
        raise RuntimeError("bug")

    app.add_url_rule("/boundary/refuse", "refuse_page", lambda: refuse())
    app.add_url_rule("/api/v1/boundary/refuse", "refuse_api", lambda: refuse())
    app.add_url_rule("/boundary/crash", "crash_page", lambda: crash())
    app.add_url_rule("/api/v1/boundary/crash", "crash_api", lambda: crash())
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def departments() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Department.name)))


def test_a_refusal_inside_a_unit_of_work_renders_its_page_and_json(failing_app, users, auth):
    client = failing_app.test_client()
    response = client.get("/api/v1/boundary/refuse")
    assert response.status_code == 422
    assert response.json == {
        "error": "The rule says no.",
        "detail": {"name": ["The rule says no."]},
    }
    client.post("/auth/login", data={"username": "staff", "password": "correct-horse-9"})
    response = client.get("/boundary/refuse")
    assert response.status_code == 422
    assert "The rule says no." in response.text and "Staff" in response.text
    assert "Left behind" not in departments()


def test_a_crash_inside_a_unit_of_work_is_a_500_page_and_json(failing_app, users):
    client = failing_app.test_client()
    client.post("/auth/login", data={"username": "staff", "password": "correct-horse-9"})
    response = client.get("/boundary/crash")
    assert response.status_code == 500 and "<html" in response.text
    response = client.get("/api/v1/boundary/crash")
    assert response.status_code == 500 and response.json["error"]
    assert "Left behind" not in departments()

"""Record control rules: definitions, every field type, numbering, amendments, voids."""

import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from qms import attachments
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.records import fields, services
from qms.records.models import Attachment, Record, RecordDraft, RecordVersion
from qms.uow import unit_of_work
from tests.builders import effective
from tests.builders_records import form_content, form_in_force, submit

# field key: (a valid value, what is stored, an invalid value)
VALID_AND_INVALID = {
    "title": ("  Hello  ", "Hello", "x" * 21),
    "notes": ("line 1\r\nline 2", "line 1\nline 2", "y" * 101),
    "weight": ("2.5", 2.5, "11"),
    "score": (42, 42, "1e400"),
    "day": ("2026-03-01", "2026-03-01", "2026-02-30"),
    "moment": ("2026-03-01T09:30", "2026-03-01T09:30", "yesterday"),
    "clock": ("09:30", "09:30", "25:00"),
    "channel": ("phone", "phone", "letter"),
    "checks": (["c", "a"], ["a", "c"], ["a", "z"]),
    "result": ("fail", "fail", "maybe"),
    "signed": ("on", True, "perhaps"),
    "mail": ("a@example.org", "a@example.org", "not-an-address"),
    "tel": ("+86 10 1234-5678", "+86 10 1234-5678", "call me"),
    "person": ("staff2", "staff2", "nobody"),
    "dept": ("Quality Office", "Quality Office", "Moon Base"),
    "rows": ([{"item": "Pen", "qty": "2"}], [{"item": "Pen", "qty": 2}], [{"qty": 0}]),
}


@pytest.fixture
def form(users):
    return form_in_force(users)


def test_every_field_type_stores_valid_values(users, form):
    record = submit(users, **{key: good for key, (good, _s, _b) in VALID_AND_INVALID.items()})
    for key, (_good, stored, _bad) in VALID_AND_INVALID.items():
        assert record.values[key] == stored, key


def test_every_field_type_refuses_invalid_values_naming_the_field(users, form):
    for key, (_good, _stored, bad) in VALID_AND_INVALID.items():
        with pytest.raises(ValidationFailed) as exc:
            submit(users, **{key: bad})
        assert list(exc.value.detail) == [key]
    assert db.session.scalar(select(Record.id)) is None


class Upload:
    """A file as a form posts it."""

    def __init__(self, data: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(data), filename


def test_attachment_field_stores_an_uploaded_file(users, form):
    attachment = services.store_attachment(
        users["staff"], io.BytesIO(b"%PDF-1.4 evidence"), "../../evil/scan.pdf"
    )
    assert attachment.name == "scan.pdf" and attachment.content_type == "application/pdf"
    path = services.attachment_path(attachment)
    assert path == attachments.path(attachment.sha256) and path.parent.name == path.name[:2]
    assert path.read_bytes() == b"%PDF-1.4 evidence"
    record = submit(users, file=attachment.id)
    assert record.values["file"] == attachment.id
    with pytest.raises(ValidationFailed) as exc:
        submit(users, file=attachment.id + 999)
    assert list(exc.value.detail) == ["file"]


def test_attachment_over_the_size_limit_is_refused(app, users, form):
    app.config["QMS_MAX_ATTACHMENT_BYTES"] = 10
    with pytest.raises(ValidationFailed) as exc:
        services.store_attachment(users["staff"], io.BytesIO(b"x" * 11), "big.txt")
    assert exc.value.field == "file"
    assert attachments.stored() == set()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_record_attachments_are_named_for_the_one_store(users, form):
    assert Attachment.__table__.c.sha256 in attachments.attachment_columns()
    attachment = services.store_attachment(users["staff"], io.BytesIO(b"checked"), "a.txt")
    assert attachments.referenced() == attachments.stored() == {attachment.sha256}
    assert attachments.problems() == []


def test_a_refused_submission_keeps_neither_its_upload_nor_a_row(users, form):
    with pytest.raises(ValidationFailed) as exc:
        services.submit_record(
            users["staff"],
            "RF-01",
            {"title": "T", "score": "many"},
            uploads={"file": Upload(b"%PDF-1.4 scan", "scan.pdf")},
        )
    assert list(exc.value.detail) == ["score"]
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert attachments.stored() == set()
    assert "attachment.uploaded" not in trail_actions()


def test_a_refused_upload_is_named_with_the_other_problems(users, form):
    with pytest.raises(ValidationFailed) as exc:
        services.submit_record(
            users["staff"],
            "RF-01",
            {"score": "many"},
            uploads={"file": Upload(b"<svg onload=alert(1)>", "x.svg")},
        )
    assert set(exc.value.detail) == {"title", "score", "file"}
    assert "x.svg is not a kind of file" in exc.value.detail["file"][0]
    assert attachments.stored() == set()


def test_an_upload_is_kept_with_the_record_or_draft_that_names_it(users, form):
    record = services.submit_record(
        users["staff"], "RF-01", {"title": "T"}, uploads={"file": Upload(b"%PDF-1 a", "a.pdf")}
    )
    attachment = db.session.get(Attachment, record.values["file"])
    assert attachment.name == "a.pdf" and attachments.exists(attachment.sha256)
    draft = services.save_draft(
        users["staff"], "RF-01", {}, uploads={"file": Upload(b"%PDF-1 b", "b.pdf")}
    )
    assert db.session.get(Attachment, draft.values["file"]).name == "b.pdf"
    amended = services.amend_record(
        users["staff"], record.number, {"title": "T"}, "new scan", {"file": Upload(b"c", "c.txt")}
    )
    assert db.session.get(Attachment, amended.values["file"]).name == "c.txt"
    assert len(attachments.stored()) == 3 and attachments.problems() == []


def trail_actions() -> list[str]:
    from qms.trail import AuditEvent

    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("value", ["4.5", "NaN", "Infinity", "1e400", True, "12abc"])
def test_integer_refuses_what_is_not_a_whole_number(value):
    from qms.records.fields import Lookups, check_value, parse_fields

    (fd,) = parse_fields([{"key": "n", "label": "N", "type": "integer"}])
    assert check_value(fd, value, Lookups.none()) == (None, "Enter a whole number.")


def test_required_fields_and_unknown_keys_are_refused(users, form):
    with pytest.raises(ValidationFailed) as exc:
        services.submit_record(users["staff"], "RF-01", {"nope": 1})
    assert set(exc.value.detail) == {"title", "nope"}


def test_table_requires_its_columns_and_ignores_empty_rows(users):
    fields = [
        {"key": "title", "label": "Title", "type": "text"},
        {
            "key": "rows",
            "label": "Rows",
            "type": "table",
            "required": True,
            "columns": [{"key": "item", "label": "Item", "type": "text", "required": True}],
        },
    ]
    form_in_force(users, fields=fields)
    with pytest.raises(ValidationFailed) as exc:
        submit(users, rows=[{"item": ""}])
    assert "at least 1 row" in exc.value.detail["rows"][0]
    record = submit(users, rows=[{"item": "one"}, {"item": ""}])
    assert record.values["rows"] == [{"item": "one"}]


def test_a_draft_may_be_partly_filled_and_is_private(users, form):
    draft = services.save_draft(users["staff"], "RF-01", {"score": "7"})
    assert draft.values["score"] == 7 and "title" not in draft.values
    with pytest.raises(NotFound):
        services.get_draft(users["staff2"], draft.id)
    record = services.submit_record(users["staff"], "RF-01", {"title": "Done"}, draft.id)
    assert record.number.startswith("RF-01/")
    with pytest.raises(NotFound):
        services.get_draft(users["staff"], draft.id)


# -- definitions ---------------------------------------------------------------------------

BAD_DEFINITIONS = [
    ([{"key": "a", "label": "A", "type": "colour"}], "a", "unknown type"),
    (
        [{"key": "a", "label": "A", "type": "text"}, {"key": "a", "label": "B", "type": "text"}],
        "a",
        "used twice",
    ),
    ([{"key": "pick", "label": "Pick", "type": "select"}], "pick", "needs a list of options"),
    ([{"key": "n", "label": "N", "type": "integer", "min": 5, "max": 1}], "n", "over max"),
    ([{"key": "t", "label": "T", "type": "table"}], "t", "needs a list of columns"),
    (
        [{"key": "t", "label": "T", "type": "table", "columns": [{"key": "x", "type": "text"}]}],
        "t.x",
        "label is required",
    ),
    ([{"key": "Bad Key", "label": "A", "type": "text"}], "Bad Key", "not valid"),
    ([{"key": "p", "label": "P", "type": "text", "pattern": "("}], "p", "regular expression"),
    ([{"key": "d", "label": "D", "type": "integer", "default": "x"}], "d", "default"),
]


@pytest.mark.parametrize("fields, name, problem", BAD_DEFINITIONS)
def test_bad_definition_is_refused_on_save_naming_field_and_problem(users, fields, name, problem):
    doc = documents.create_document(users["author"], "RF-09", "Form", "record_form")
    with pytest.raises(ValidationFailed) as exc:
        documents.save_draft(users["author"], doc, form_content("RF-09", fields))
    assert exc.value.field == "content"
    assert name in exc.value.message and problem in exc.value.message


def test_the_starter_forms_are_valid_definitions():
    from qms import ROOT, render

    for lang in ("en", "zh_Hans"):
        for path in (ROOT / "documents" / lang).glob("RF-*.md"):
            meta, _body = render.split_front_matter(path.read_text(encoding="utf-8"))
            fields, _retention = services.parse_definition(meta)
            assert fields, path


def test_labels_follow_the_users_language(users):
    fields = [{"key": "a", "label": "证照编号", "label_en": "Certificate number", "type": "text"}]
    form_in_force(users, fields=fields)
    with force_locale("en"):
        assert services.definition("RF-01").fields[0].label == "Certificate number"
    with force_locale("zh_Hans"):
        assert services.definition("RF-01").fields[0].label == "证照编号"
    with force_locale("zh_Hant"):
        assert services.definition("RF-01").fields[0].label == "证照编号"


# -- records over revisions ------------------------------------------------------------------


def test_record_is_pinned_to_the_revision_and_commit_it_was_filled_on(users, form):
    record = submit(users)
    doc = documents.get_document("RF-01")
    rev = documents.effective_revision(doc)
    assert (record.form_code, record.form_revision) == ("RF-01", "A")
    assert record.form_commit == rev.release_commit
    assert record.number == f"RF-01/{record.submitted_at.year}/000001"
    assert submit(users).number.endswith("/000002")


def test_revised_form_keeps_old_records_with_their_own_fields(users):
    fields_a = [
        {"key": "title", "label": "Old title label", "type": "text"},
        {"key": "gone", "label": "Dropped in B", "type": "text"},
    ]
    fields_b = [
        {"key": "title", "label": "New title label", "type": "text"},
        {"key": "extra", "label": "Added in B", "type": "integer", "required": True},
    ]
    form_in_force(users, fields=fields_a)
    old = submit(users, gone="kept value")
    form_in_force(users, fields=fields_b)
    new = submit(users, extra=3)
    assert (old.form_revision, new.form_revision) == ("A", "B")
    old_labels = [
        fd.label for fd, _t, _c in services.shown(services.record_definition(old), old.values)
    ]
    assert old_labels == ["Old title label", "Dropped in B"]
    with pytest.raises(ValidationFailed) as exc:
        submit(users, gone="no longer a field")
    assert set(exc.value.detail) == {"gone", "extra"}
    # Amending an old record checks it against its own revision, not the new one.
    services.amend_record(users["staff"], old.number, {"title": "A", "gone": "changed"}, "typo")
    assert old.values["gone"] == "changed" and old.form_revision == "A"


def test_obsolete_form_cannot_be_filled(users, form):
    documents.obsolete(users["approver"], documents.get_document("RF-01"), "Replaced")
    with pytest.raises(Conflict) as exc:
        submit(users)
    assert "obsolete" in exc.value.message


def test_a_form_without_effective_revision_cannot_be_filled(users):
    documents.create_document(users["author"], "RF-02", "Form", "record_form")
    with pytest.raises(Conflict):
        submit(users, "RF-02")


def test_a_document_that_is_not_a_form_cannot_be_filled(users):
    effective(users, "QP-90")
    with pytest.raises(ValidationFailed):
        submit(users, "QP-90")


# -- amendments and voids --------------------------------------------------------------------


def test_amendment_is_a_new_version_with_reason_and_keeps_the_earlier_one(users, form):
    record = submit(users, score=1)
    services.amend_record(users["staff"], record.number, {"title": "A title", "score": 2}, "typo")
    versions = db.session.scalars(
        select(RecordVersion)
        .where(RecordVersion.record_id == record.id)
        .order_by(RecordVersion.version)
    ).all()
    assert [(v.version, v.values["score"], v.reason) for v in versions] == [
        (1, 1, None),
        (2, 2, "typo"),
    ]
    assert (record.version, record.status, record.values["score"]) == (2, "amended", 2)


def test_amendment_needs_a_reason_and_a_change(users, form):
    record = submit(users)
    with pytest.raises(ValidationFailed):
        services.amend_record(users["staff"], record.number, {"title": "B"}, "  ")
    with pytest.raises(ValidationFailed):
        services.amend_record(users["staff"], record.number, dict(record.values), "no change")


@pytest.mark.parametrize(
    "username, allowed",
    [("staff", True), ("staff2", False), ("auditor", False), ("approver", True)],
)
def test_who_may_amend_a_record(users, form, username, allowed):
    record = submit(users)
    amend = lambda: services.amend_record(users[username], record.number, {"title": "B"}, "why")  # noqa: E731
    if allowed:
        assert amend().version == 2
    else:
        # Out of the record's department (staff2), the record is not even found.
        with pytest.raises((PermissionDenied, NotFound)):
            amend()


@pytest.mark.parametrize(
    "username, allowed",
    [("staff", False), ("author", False), ("approver", True), ("admin", True)],
)
def test_only_approvers_and_admins_void_records(users, form, username, allowed):
    record = submit(users)
    if allowed:
        services.void_record(users[username], record.number, "Entered twice")
        assert record.status == "void" and record.void_reason == "Entered twice"
    else:
        # Out of the record's department (author), the record is not even found.
        with pytest.raises((PermissionDenied, NotFound)):
            services.void_record(users[username], record.number, "Entered twice")


def test_void_keeps_every_version_readable_and_stops_amendments(users, form):
    record = submit(users, score=1)
    services.amend_record(users["staff"], record.number, {"title": "x", "score": 5}, "fix")
    services.void_record(users["approver"], record.number, "Duplicate")
    found = services.get_record(record.number)
    assert [v.values.get("score") for v in found.versions] == [1, 5]
    with pytest.raises(Conflict):
        services.amend_record(users["approver"], record.number, {"title": "y"}, "again")
    with pytest.raises(ValidationFailed):
        services.void_record(users["admin"], submit(users).number, "")


def test_every_change_leaves_a_trail_event(users, form):
    from qms import trail

    record = submit(users)
    services.amend_record(users["staff"], record.number, {"title": "B"}, "why")
    services.link_record(record.number, "nonconformity", "NC-2026-0001", users["staff"])
    services.void_record(users["approver"], record.number, "dup")
    actions = [e.action for e in trail.events_for("record", record.number)]
    assert actions == ["record.submitted", "record.amended", "record.linked", "record.voided"]
    assert trail.verify() == []


# -- links, lists, retention -----------------------------------------------------------------


def test_link_joins_the_callers_unit_of_work(users, form):
    record = submit(users)
    with pytest.raises(RuntimeError), unit_of_work():
        services.link_record(record.number, "audit", "IA-1", users["auditor"])
        raise RuntimeError("the caller's own step fails after linking")
    assert services.links_to("audit", "IA-1") == []
    services.link_record(record.number, "audit", "IA-1", users["auditor"])
    db.session.rollback()
    assert services.links_to("audit", "IA-1") == [record]


def test_draft_deleted_and_void_are_their_own_units_of_work(users, form):
    draft = services.save_draft(users["staff"], "RF-01", {"title": "half"})
    record = submit(users)
    services.delete_draft(users["staff"], draft.id)
    services.void_record(users["approver"], record.number, "dup")
    db.session.rollback()  # nothing is left uncommitted for a caller to lose
    assert db.session.get(RecordDraft, draft.id) is None
    assert services.get_record(record.number).status == "void"


def test_records_link_to_nonconformities_and_audits(users, form):
    record = submit(users)
    link = services.link_record(record.number, "nonconformity", "NC-2026-0001", users["staff"])
    again = services.link_record(record.number, "nonconformity", "NC-2026-0001", users["staff"])
    assert link.id == again.id
    services.link_record(record.number, "audit", "IA-2026-01", users["auditor"])
    assert services.links_to("audit", "IA-2026-01") == [record]
    with pytest.raises(ValidationFailed):
        services.link_record(record.number, "spaceship", "X", users["staff"])
    with pytest.raises(NotFound):
        services.get_record("RF-01/2026/999999")


def test_lists_filter_by_field_value_submitter_status_and_dates(users, form):
    a = submit(users, channel="phone", rows=[{"item": "Stamp pad", "qty": 1}])
    b = submit(users, username="staff2", channel="window")
    services.void_record(users["approver"], b.number, "dup")

    def numbers(**kw):
        return [r.number for r in db.session.scalars(services.list_records(**kw))]

    assert numbers(form="RF-01", field="channel", value="PHONE") == [a.number]
    assert numbers(field="rows.item", value="stamp") == [a.number]
    assert numbers(submitter="staff2") == [b.number]
    assert numbers(status="void") == [b.number]
    today = a.submitted_at.date()
    assert set(numbers(date_from=today, date_to=today)) == {a.number, b.number}
    assert numbers(date_from=today + timedelta(days=1)) == []
    assert numbers(sort="number") == [a.number, b.number]


def test_lists_filter_by_the_organisations_dates(app, users, form):
    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    record = submit(users)
    # 23:30 UTC on 1 January is 07:30 on 2 January in Shanghai.
    record.submitted_at = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    db.session.commit()

    def numbers(day):
        stmt = services.list_records(date_from=day, date_to=day)
        return [r.number for r in db.session.scalars(stmt)]

    assert numbers(date(2026, 1, 2)) == [record.number]
    assert numbers(date(2026, 1, 1)) == []


def test_records_are_numbered_by_the_organisations_year(app, users, form, monkeypatch):
    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 07:30 on 1 January 2027 there
    monkeypatch.setattr(services, "utcnow", lambda: new_year)
    assert submit(users).number == "RF-01/2027/000001"


def test_records_past_retention_are_listed_never_deleted(users):
    form_in_force(users, fields=[{"key": "title", "label": "T", "type": "text"}], retention_years=1)
    old, recent = submit(users), submit(users)
    old.submitted_at = old.submitted_at - timedelta(days=400)
    db.session.commit()
    groups = services.past_retention()
    assert [(d.code, [r.number for r in rs]) for d, rs in groups] == [("RF-01", [old.number])]
    assert services.get_record(old.number) is not None and recent.status == "submitted"


def test_bad_retention_setting_is_refused(users):
    doc = documents.create_document(users["author"], "RF-09", "Form", "record_form")
    content = form_content(
        "RF-09", [{"key": "a", "label": "A", "type": "text"}], retention_years="forever"
    )
    with pytest.raises(ValidationFailed) as exc:
        documents.save_draft(users["author"], doc, content)
    assert "retention_years" in exc.value.message


# -- numbering under concurrency -------------------------------------------------------------


def test_concurrent_submissions_get_distinct_numbers_and_none_is_lost(app, users, form):
    """Real threads, each with its own connection, submit at once against the real database."""
    from qms.auth.models import User

    db.session.commit()
    names, each = ["staff", "staff2", "author", "approver", "admin"], 4
    start = threading.Barrier(len(names))
    printed: list[str] = []
    failures: list[BaseException] = []

    def worker(username: str) -> None:
        try:
            with app.test_request_context():
                user = db.session.scalar(select(User).where(User.username == username))
                start.wait()
                for n in range(each):
                    record = services.submit_record(user, "RF-01", {"title": f"{username} {n}"})
                    printed.append(record.number)
                db.session.remove()
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(printed) == len(set(printed)) == len(names) * each
    db.session.expire_all()
    stored = db.session.scalars(select(Record.number)).all()
    assert sorted(stored) == sorted(printed)
    year = printed[0].split("/")[1]
    assert sorted(stored) == [f"RF-01/{year}/{n:06d}" for n in range(1, len(printed) + 1)]
    titles = {r.values["title"] for r in db.session.scalars(select(Record))}
    assert titles == {f"{w} {n}" for w in names for n in range(each)}


def test_attachment_limit_defaults_to_20_mb(app):
    assert app.config["QMS_MAX_ATTACHMENT_BYTES"] == 20 * 1024 * 1024


# -- one class per field type ----------------------------------------------------------------


def test_every_field_type_is_one_registered_class():
    from tests.builders_records import ALL_FIELDS

    assert set(fields.FIELD_TYPES) == {f["type"] for f in ALL_FIELDS}
    classes = [type(kind) for kind in fields.FIELD_TYPES.values()]
    assert len(set(classes)) == len(classes)
    assert all(isinstance(kind, fields.FieldType) for kind in fields.FIELD_TYPES.values())
    assert all(name == kind.name for name, kind in fields.FIELD_TYPES.items())


def test_a_new_field_type_is_one_class(users, monkeypatch):
    monkeypatch.setattr(fields, "FIELD_TYPES", dict(fields.FIELD_TYPES))

    @fields.register
    class Colour(fields.FieldType):
        name = "colour"

        def check(self, fd, value, lookups):
            ok = isinstance(value, str) and len(value) == 7 and value.startswith("#")
            return (value.lower(), None) if ok else (None, "Enter a colour as #rrggbb.")

        def display(self, fd, value, names):
            return f"colour {value}"

    (fd,) = fields.parse_fields([{"key": "c", "label": "C", "type": "colour", "required": True}])
    assert fields.validate_values((fd,), {"c": "#FF0000"}, fields.Lookups.none()) == (
        {"c": "#ff0000"},
        {},
    )
    assert fields.validate_values((fd,), {"c": "red"}, fields.Lookups.none())[1] == {
        "c": ["Enter a colour as #rrggbb."]
    }
    assert fields.display(fd, "#ff0000") == "colour #ff0000"
    with pytest.raises(fields.DefinitionError, match="only for number"):
        fields.parse_fields([{"key": "c", "label": "C", "type": "colour", "min": 1}])

"""The service catalogue: items and windows, standard coverage and its gaps (无标 / 缺标),
the work queue, the catalogue's import, who may change it, its pages and its API."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from qms import clock
from qms.auth.services import create_token
from qms.documents import services as documents
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.standards import catalogue, catalogue_import, coverage
from qms.standards.models import ExternalStandard, ServiceItem
from qms.trail import AuditEvent
from tests.builders import effective, new_document

HALL = "Service Hall"
APPROVAL = "Business Approval Department"


def window(users, code="W01", name="Comprehensive acceptance window 1", dept=HALL):
    made = catalogue.add_window(users["approver"], code, name, dept)
    db.session.commit()
    return made


def item(users, code="SI-001", name="Business registration", **kw):
    kw.setdefault("department", HALL)
    made = catalogue.add_item(users["approver"], code, name, **kw)
    db.session.commit()
    return made


def standard(number, status="in_force", replaced_by=None):
    made = ExternalStandard(
        number=number, title=f"Standard {number}", status=status, replaced_by=replaced_by
    )
    db.session.add(made)
    db.session.commit()
    return made


def events(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def state_of(code: str) -> coverage.ItemCoverage:
    return coverage.assess_item(catalogue.get_item(code))


# -- coverage and gaps ------------------------------------------------------------------------


@pytest.fixture
def seeded(users):
    """Six items: two governed, one with nothing (无标) and three falling short (缺标)."""
    effective(users, "WI-07-01", title="Window reception")
    effective(users, "WI-07-03", title="Certificate issuance")
    effective(users, "QP-09", title="Retired procedure")
    documents.obsolete(users["approver"], documents.get_document("QP-09"), "Replaced by QP-07.")
    new_standard = standard("GB/T 32169.2-2022")
    standard("GB/T 32169.2-2015", status="replaced", replaced_by=new_standard)
    standard("GB/T 99999-2010", status="withdrawn")
    overdue = documents.get_document("WI-07-03")
    overdue.next_review_due = clock.today() - timedelta(days=3)
    db.session.commit()
    item(users, "SI-001", "Business registration", documents=["WI-07-01"])
    item(users, "SI-002", "Food licence", standards=["GB/T 32169.2-2022"], department=APPROVAL)
    item(users, "SI-003", "Disability card", department=APPROVAL)
    item(users, "SI-004", "Old standard only", standards=["GB/T 32169.2-2015"])
    item(users, "SI-005", "Withdrawn standard only", standards=["GB/T 99999-2010"])
    item(users, "SI-006", "Obsolete and overdue", documents=["QP-09", "WI-07-03"])
    return users


def test_an_item_with_an_effective_document_or_a_standard_in_force_is_governed(seeded):
    assert state_of("SI-001").state == "covered"
    assert state_of("SI-002").state == "covered"


def test_an_item_that_nothing_governs_has_no_standard(seeded):
    entry = state_of("SI-003")
    assert (entry.state, entry.reasons) == ("missing", [])


def test_an_item_governed_only_by_a_withdrawn_standard_falls_short(seeded):
    entry = state_of("SI-005")
    assert entry.state == "short"
    assert [(r.kind, r.subject, r.replacement) for r in entry.reasons] == [
        ("withdrawn", "GB/T 99999-2010", None)
    ]


def test_a_replaced_standard_falls_short_and_names_the_standard_in_force_that_replaces_it(
    seeded,
):
    entry = state_of("SI-004")
    assert entry.state == "short"
    assert [(r.kind, r.replacement.number) for r in entry.reasons] == [
        ("replaced", "GB/T 32169.2-2022")
    ]


def test_an_item_governed_by_an_obsolete_document_or_one_overdue_for_review_falls_short(seeded):
    entry = state_of("SI-006")
    assert entry.state == "short"
    assert sorted((r.kind, r.subject) for r in entry.reasons) == [
        ("obsolete", "QP-09"),
        ("review_overdue", "WI-07-03"),
    ]


def test_a_document_reviewed_on_time_governs_again(seeded):
    documents.get_document("WI-07-03").next_review_due = clock.today()
    db.session.commit()
    assert state_of("SI-006").state == "covered"


def test_coverage_is_governed_items_over_active_items_overall_and_per_department(seeded):
    result = coverage.figures()
    assert (result.overall.total, result.overall.covered) == (6, 2)
    assert result.overall.percent == pytest.approx(33.3)
    assert (result.missing, result.short) == (1, 3)
    assert not result.overall.meets_target
    by_dept = {s.label: (s.total, s.covered) for s in result.departments}
    assert by_dept == {APPROVAL: (2, 1), HALL: (4, 1)}


def test_a_deactivated_item_leaves_the_coverage_and_the_work_queue(seeded):
    catalogue.change_item(seeded["approver"], catalogue.get_item("SI-003"), active=False)
    db.session.commit()
    result = coverage.figures()
    assert result.overall.total == 5
    assert "SI-003" not in [e.item.code for e in coverage.gaps()]


def test_the_work_queue_lists_items_with_no_standard_first_then_those_falling_short(seeded):
    assert [(e.item.code, e.state) for e in coverage.gaps()] == [
        ("SI-003", "missing"),
        ("SI-004", "short"),
        ("SI-005", "short"),
        ("SI-006", "short"),
    ]


def test_taking_the_replacing_standard_governs_the_item_in_one_step(seeded, client, auth):
    auth.login("approver")
    response = client.post("/service-items/SI-004/replacement", data={"back": "coverage"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/service-items/coverage")
    db.session.expire_all()
    refreshed = catalogue.get_item("SI-004")
    assert [r.standard.number for r in refreshed.standard_rows] == ["GB/T 32169.2-2022"]
    assert state_of("SI-004").state == "covered"
    assert events("service_item.changed") == 1


def test_an_item_without_a_replacement_in_force_cannot_take_one(seeded):
    with pytest.raises(ValidationFailed):
        catalogue.take_replacements(seeded["approver"], catalogue.get_item("SI-005"))


def test_the_coverage_page_draws_the_figure_against_the_target_and_links_each_gap_to_work(
    seeded, client, auth
):
    auth.login("author")
    page = client.get("/service-items/coverage").get_data(as_text=True)
    svg = page[page.index('<div class="chart"') :].split("</svg>")[0]
    assert "<svg" in svg and "<script" not in svg
    assert "33.3" in page and "90" in page
    queue = page[page.index('id="gaps"') :]
    assert queue.count('href="/adoption/"') == 4  # one per gap: adopt a standard
    assert queue.count('href="/documents/new"') == 4  # or write one
    assert 'href="/documents/WI-07-03"' in page  # the overdue document, to review
    # Only the quality office gets the one-click replacement.
    assert "/service-items/SI-004/replacement" not in page
    auth.logout()
    auth.login("staff")  # who may neither adopt nor write documents sees no such link
    queue = client.get("/service-items/coverage").get_data(as_text=True)
    queue = queue[queue.index('id="gaps"') :]
    assert 'href="/adoption/"' not in queue and 'href="/documents/new"' not in queue
    auth.logout()
    auth.login("approver")
    page = client.get("/service-items/coverage").get_data(as_text=True)
    assert "/service-items/SI-004/replacement" in page


def test_the_items_list_filters_by_department_window_and_coverage_state(seeded, client, auth):
    window(seeded, "W01")
    catalogue.change_item(seeded["approver"], catalogue.get_item("SI-005"), windows=["W01"])
    db.session.commit()
    auth.login("staff")

    def codes(query: str) -> list[str]:
        page = client.get(f"/service-items/?{query}").get_data(as_text=True)
        return [c for c in ("SI-001", "SI-002", "SI-003", "SI-004", "SI-005", "SI-006")
                if f">{c}</a>" in page]  # fmt: skip

    assert codes(f"department={APPROVAL}") == ["SI-002", "SI-003"]
    assert codes("window=W01") == ["SI-005"]
    assert codes("state=short") == ["SI-004", "SI-005", "SI-006"]
    assert codes("state=missing") == ["SI-003"]


def test_an_item_page_shows_legal_basis_limits_windows_and_what_governs_it(seeded, client, auth):
    window(seeded, "W02", "Issuing window")
    catalogue.change_item(
        seeded["approver"],
        catalogue.get_item("SI-006"),
        windows=["W02"],
        legal_basis="Administrative Licensing Law, art. 42",
        statutory_days=20,
        promised_days=5,
    )
    db.session.commit()
    auth.login("staff")
    page = client.get("/service-items/SI-006").get_data(as_text=True)
    for text in (
        "Administrative Licensing Law, art. 42",
        "20 working days",
        "5 working days",
        "W02 Issuing window",
        "QP-09",
        "WI-07-03",
        "overdue for periodic review",
    ):
        assert text in page
    window_page = client.get("/windows/W02").get_data(as_text=True)
    assert "SI-006" in window_page and "SI-001" not in window_page


def test_managers_see_the_coverage_on_their_home_page_and_staff_do_not(seeded, client, auth):
    auth.login("approver")
    home = client.get("/").get_data(as_text=True)
    assert "2 of 6 active items have governing standards: 33.3 % (target 90 %)." in home
    auth.logout()
    auth.login("staff")
    assert "active items have governing standards" not in client.get("/").get_data(as_text=True)


def test_an_inactive_item_is_listed_only_when_asked_and_can_be_made_active_again(
    users, client, auth
):
    item(users)
    auth.login("approver")
    assert client.post("/service-items/SI-001/active", data={"active": "0"}).status_code == 302
    assert ">SI-001</a>" not in client.get("/service-items/").get_data(as_text=True)
    assert ">SI-001</a>" in client.get("/service-items/?inactive=1").get_data(as_text=True)
    assert client.post("/service-items/SI-001/active", data={"active": "1"}).status_code == 302
    db.session.expire_all()
    assert catalogue.get_item("SI-001").active
    assert [events(a) for a in ("service_item.deactivated", "service_item.reactivated")] == [1, 1]


# -- the catalogue's rules --------------------------------------------------------------------


def test_adding_changing_and_deactivating_an_item_leave_trail_events(users):
    window(users)
    made = item(users, legal_basis="Company Law", windows=["W01"])
    catalogue.change_item(users["approver"], made, name="Company registration")
    catalogue.change_item(users["admin"], made, active=False)
    db.session.commit()
    assert [events(a) for a in ("service_window.added", "service_item.added")] == [1, 1]
    assert [events(a) for a in ("service_item.changed", "service_item.deactivated")] == [1, 1]
    assert catalogue.active_items() == []


@pytest.mark.parametrize("who", ["staff", "author", "auditor"])
def test_only_the_quality_office_changes_the_catalogue_and_a_refusal_leaves_no_trace(users, who):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(PermissionDenied):
        catalogue.add_item(users[who], "SI-009", "Residence transfer")
    with pytest.raises(PermissionDenied):
        catalogue.add_window(users[who], "W09", "Help desk")
    assert db.session.scalar(select(func.count()).select_from(ServiceItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("/service-items/", {"code": "SI-009", "name": "Residence transfer"}),
        ("/windows/", {"code": "W09", "name": "Help desk"}),
        ("/service-items/SI-001", {"name": "Renamed"}),
        ("/service-items/SI-001/active", {"active": "0"}),
        ("/windows/W01", {"active": "0"}),
    ],
)
def test_the_pages_refuse_a_change_to_the_catalogue_by_anyone_but_the_quality_office(
    users, client, auth, page, data
):
    window(users)
    item(users)
    auth.login("author")
    assert client.post(page, data=data).status_code == 403
    db.session.expire_all()
    assert catalogue.get_item("SI-001").name == "Business registration"
    assert catalogue.get_window("W01").active


def test_an_item_code_is_unique(users):
    item(users)
    with pytest.raises(ValidationFailed) as refused:
        catalogue.add_item(users["approver"], "SI-001", "Another")
    assert refused.value.field == "code"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"promised_days": 10, "statutory_days": 5}, "promised_days"),
        ({"promised_days": 0}, "promised_days"),
        ({"statutory_days": -3}, "statutory_days"),
        ({"statutory_days": 2.5}, "statutory_days"),
        ({"windows": ["NOPE"]}, "windows"),
        ({"documents": ["QP-99"]}, "documents"),
        ({"standards": ["GB/T 1-1900"]}, "standards"),
        ({"department": "Nowhere"}, "department"),
    ],
)
def test_an_item_is_refused_with_a_message_on_the_field_at_fault(users, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.add_item(users["approver"], "SI-001", "Business registration", **fields)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(ServiceItem)) == 0


def test_a_change_cannot_make_the_promised_limit_longer_than_the_statutory_one(users):
    made = item(users, statutory_days=20, promised_days=5)
    with pytest.raises(ValidationFailed):
        catalogue.change_item(users["approver"], made, statutory_days=3)
    db.session.expire_all()
    assert catalogue.get_item("SI-001").statutory_days == 20


def test_a_record_form_cannot_govern_an_item(users):
    new_document(users, "RF-07-01-01", title="Acceptance register", doc_type="record_form")
    with pytest.raises(ValidationFailed):
        catalogue.add_item(users["approver"], "SI-001", "X", documents=["RF-07-01-01"])


def test_a_refused_item_form_keeps_what_was_typed(users, client, auth):
    auth.login("approver")
    response = client.post(
        "/service-items/",
        data={"code": "SI-777", "name": "Housing fund withdrawal", "statutory_days": "3",
              "promised_days": "8", "legal_basis": "Regulations on Housing Provident Fund"},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be longer than the statutory one" in page
    assert 'value="SI-777"' in page and "Regulations on Housing Provident Fund" in page
    assert catalogue.item_by_code("SI-777") is None


def test_a_window_can_be_added_and_deactivated_from_its_pages(users, client, auth):
    auth.login("admin")
    response = client.post("/windows/", data={"code": "W05", "name": "Issuing window"})
    assert response.status_code == 302
    assert client.post("/windows/W05", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert not catalogue.get_window("W05").active
    assert events("service_window.changed") == 1


# -- import ---------------------------------------------------------------------------------

HEADER = ["事项编码", "事项名称", "法定时限", "承诺时限", "部门", "窗口", "文件"]


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def hall(users):
    window(users, "W01")
    window(users, "W02", "Comprehensive acceptance window 2")
    effective(users, "WI-07-01", title="Window reception")
    return users


ROWS = [
    ["SI-101", "企业设立登记", "15", "3个工作日", HALL, "W01、W02", "WI-07-01"],
    ["SI-102", "食品经营许可", 20, 10, APPROVAL, "W02", ""],
]


@pytest.mark.parametrize(("name", "make"), [("catalogue.csv", _csv), ("catalogue.xlsx", _xlsx)])
def test_an_import_adds_items_by_code_and_importing_it_again_changes_nothing(hall, name, make):
    data = make(ROWS)
    result = catalogue_import.import_catalogue(
        hall["approver"], catalogue_import.read_table(name, data)
    )
    db.session.commit()
    assert (result.added, result.changed) == (["SI-101", "SI-102"], [])
    made = catalogue.get_item("SI-101")
    assert (made.statutory_days, made.promised_days, made.department.name) == (15, 3, HALL)
    assert [w.code for w in made.windows] == ["W01", "W02"]
    assert [r.document.code for r in made.document_rows] == ["WI-07-01"]
    trail_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    again = catalogue_import.import_catalogue(
        hall["approver"], catalogue_import.read_table(name, data)
    )
    db.session.commit()
    assert (again.added, again.changed, again.unchanged) == ([], [], ["SI-101", "SI-102"])
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == trail_before


def test_an_import_changes_an_item_whose_row_differs(hall):
    catalogue_import.import_catalogue(
        hall["approver"], catalogue_import.read_table("c.csv", _csv(ROWS))
    )
    db.session.commit()
    changed = [ROWS[0][:2] + ["15", "2"] + ROWS[0][4:], ROWS[1]]
    result = catalogue_import.import_catalogue(
        hall["approver"], catalogue_import.read_table("c.csv", _csv(changed))
    )
    db.session.commit()
    assert (result.changed, result.unchanged) == (["SI-101"], ["SI-102"])
    assert catalogue.get_item("SI-101").promised_days == 2


def test_a_bad_row_refuses_the_whole_import_with_each_bad_row_numbered(hall):
    rows = [
        ROWS[0],
        ["", "", "", "", "", "", ""],  # a blank row still counts in the numbering
        ["SI-102", "食品经营许可", "5", "10", APPROVAL, "W02", ""],  # promised > statutory
        ["SI-103", "", "5", "", HALL, "", ""],  # no name
        ["SI-104", "户籍迁移", "5", "", HALL, "W99", ""],  # no such window
        ["SI-101", "Again", "", "", HALL, "", ""],  # code twice
    ]
    trail_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ValidationFailed) as refused:
        catalogue_import.import_catalogue(
            hall["approver"], catalogue_import.read_table("c.csv", _csv(rows))
        )
    assert [e["row"] for e in refused.value.detail["rows"]] == [4, 5, 6, 7]
    assert "also on row 2" in refused.value.detail["rows"][3]["message"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ServiceItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == trail_before


def test_an_import_needs_code_and_name_columns_and_a_readable_file(hall):
    with pytest.raises(ValidationFailed):
        catalogue_import.import_catalogue(hall["approver"], [["部门", "窗口"], [HALL, "W01"]])
    with pytest.raises(ValidationFailed):
        catalogue_import.read_table("c.xlsx", b"not a workbook")
    with pytest.raises(ValidationFailed):
        catalogue_import.read_table("c.txt", b"code,name")


def test_the_import_page_lists_the_bad_rows_and_stores_nothing(hall, client, auth):
    auth.login("approver")
    rows = [ROWS[0], ["SI-102", "食品经营许可", "abc", "", APPROVAL, "", ""]]
    response = client.post(
        "/service-items/import",
        data={"file": (io.BytesIO(_csv(rows)), "catalogue.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="row-errors"' in page and "<td>3</td>" in page and "abc" in page
    assert catalogue.item_by_code("SI-101") is None
    response = client.post(
        "/service-items/import",
        data={"file": (io.BytesIO(_xlsx(ROWS)), "catalogue.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert catalogue.item_by_code("SI-102") is not None


def test_only_the_quality_office_opens_the_import_page(hall, client, auth):
    auth.login("staff")
    assert client.get("/service-items/import").status_code == 403
    with pytest.raises(PermissionDenied):
        catalogue_import.import_catalogue(hall["staff"], [HEADER, ROWS[0]])


# -- the API --------------------------------------------------------------------------------


def test_the_api_lists_shows_creates_and_changes_service_items(seeded, client):
    office = {"Authorization": f"Bearer {create_token(seeded['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(seeded['staff'])}"}
    listed = client.get("/api/v1/service-items?state=short", headers=staff).get_json()
    assert [i["code"] for i in listed["items"]] == ["SI-004", "SI-005", "SI-006"]
    detail = client.get("/api/v1/service-items/SI-004", headers=staff).get_json()
    assert detail["coverage"] == "short"
    assert detail["standards"][0]["replaced_by"] == "GB/T 32169.2-2022"
    assert detail["reasons"] == [
        {"kind": "replaced", "subject": "GB/T 32169.2-2015", "replacement": "GB/T 32169.2-2022"}
    ]
    body = {"code": "SI-010", "name": "Housing fund withdrawal", "statutory_days": 5,
            "promised_days": 1, "department": HALL, "documents": ["WI-07-01"]}  # fmt: skip
    assert client.post("/api/v1/service-items", json=body, headers=staff).status_code == 403
    created = client.post("/api/v1/service-items", json=body, headers=office)
    assert created.status_code == 201 and created.get_json()["coverage"] == "covered"
    refused = client.patch(
        "/api/v1/service-items/SI-010", json={"promised_days": 9}, headers=office
    )
    assert refused.status_code == 422 and "promised_days" in refused.get_json()["detail"]
    changed = client.patch("/api/v1/service-items/SI-010", json={"active": False}, headers=office)
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert client.get("/api/v1/service-items/NOPE", headers=staff).status_code == 404


def test_the_api_lists_shows_and_creates_windows(users, client):
    office = {"Authorization": f"Bearer {create_token(users['admin'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    body = {"code": "W06", "name": "Help desk", "department": HALL}
    assert client.post("/api/v1/windows", json=body, headers=staff).status_code == 403
    assert client.post("/api/v1/windows", json=body, headers=office).status_code == 201
    item(users, windows=["W06"])
    assert [
        w["code"] for w in client.get("/api/v1/windows", headers=staff).get_json()["items"]
    ] == ["W06"]
    shown = client.get("/api/v1/windows/W06", headers=staff).get_json()
    assert (shown["department"], shown["items"]) == (HALL, ["SI-001"])
    again = client.post("/api/v1/windows", json=body, headers=office)
    assert again.status_code == 422


def test_the_api_reports_coverage_and_the_gaps(seeded, client):
    staff = {"Authorization": f"Bearer {create_token(seeded['staff'])}"}
    body = client.get("/api/v1/coverage", headers=staff).get_json()
    assert body["target"] == 90
    assert body["overall"] == {"label": "All items", "total": 6, "covered": 2,
                               "percent": 33.3, "meets_target": False}  # fmt: skip
    assert (body["missing"], body["short"]) == (1, 3)
    assert [g["code"] for g in body["gaps"]] == ["SI-003", "SI-004", "SI-005", "SI-006"]
    assert client.get("/api/v1/coverage").status_code == 401


def test_the_openapi_document_describes_the_catalogue(users, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/service-items", "/api/v1/service-items/{code}", "/api/v1/windows",
                 "/api/v1/windows/{code}", "/api/v1/coverage"):  # fmt: skip
        assert path in paths


# -- the demo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "name", "window_name"),
    [("en", "Household registration transfer", "Assisted application window"),
     ("zh_Hant", "戶籍遷移", "幫辦代辦窗口")],
)  # fmt: skip
def test_the_demo_catalogue_is_mostly_governed_with_a_few_gaps_of_each_kind(
    ctx, monkeypatch, lang, name, window_name
):
    from qms import demo

    monkeypatch.setattr("qms.demo.activity.load_activity", lambda lang, passwords: None)
    demo.load_demo(lang)
    result = coverage.figures()
    assert result.overall.total == 14
    assert 70 < result.overall.percent < 100
    assert [(e.item.code, e.state) for e in coverage.gaps()] == [
        ("SX-07", "missing"),
        ("SX-10", "missing"),
        ("SX-12", "short"),
    ]
    assert catalogue.get_item("SX-12").name == name
    assert [r.kind for r in state_of("SX-12").reasons] == ["review_overdue"]
    assert catalogue.get_window("CK-06").name == window_name
    assert len(catalogue.active_windows()) == 6


# -- scale ------------------------------------------------------------------------------------


def test_the_catalogue_pages_make_as_many_queries_for_six_items_as_for_two(users, app, auth):
    from tests.test_query_counts import counted

    effective(users, "WI-07-01", title="Window reception")
    window(users, "W01")
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    client = app.test_client()
    client.post("/auth/login", data={"username": "approver", "password": "correct-horse-9"})
    urls = ["/service-items/", "/service-items/coverage", "/windows/W01", "/windows/"]
    apis = ["/api/v1/service-items", "/api/v1/coverage", "/api/v1/windows/W01"]

    def add(start: int, stop: int) -> None:
        for n in range(start, stop):
            # Each its own replaced standard and successor: each successor is looked up.
            new = standard(f"GB/T {n}-2022")
            standard(f"GB/T {n}-2015", status="replaced", replaced_by=new)
            item(users, f"SI-{n:03d}", f"Item {n}", windows=["W01"],
                 documents=["WI-07-01"] if n % 2 else [], standards=[f"GB/T {n}-2015"],
                 department=HALL if n % 2 else APPROVAL)  # fmt: skip

    def count() -> dict:
        found = {}
        for url in urls + apis:
            headers = office if url.startswith("/api/") else {}
            client.get(url, headers=headers)  # warm what fills once per process
            with counted() as statements:
                assert client.get(url, headers=headers).status_code == 200
            found[url] = len(statements)
        return found

    add(0, 2)
    small = count()
    add(2, 6)
    large = count()
    assert large == small


def test_a_nul_in_an_imported_cell_is_taken_out_rather_than_refused_by_the_database(hall):
    rows = catalogue_import.read_table(
        "c.csv", _csv([["SI-101", "企业\x00设立登记", "", "", HALL, "", ""]])
    )
    catalogue_import.import_catalogue(hall["approver"], rows)
    db.session.commit()
    assert catalogue.get_item("SI-101").name == "企业设立登记"

"""The standard system (标准体系): categories and presets, the register of external standards,
change requests raised when a cited standard is replaced or withdrawn, citations, placing
documents, the table and the list pages, and the API."""

from datetime import date

import pytest
from sqlalchemy import func, select

from qms import trail
from qms.auth.services import create_token
from qms.documents.models import ChangeRequest
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.standards import services
from qms.standards.models import DocumentCategory, ExternalStandard, StandardCategory
from tests.builders import content, effective


def standard(
    users,
    number="GB/T 39734-2020",
    title="Service specification of government service centres",
    **kw,
):
    std = services.add_standard(users["approver"], number, title, **kw)
    db.session.commit()
    return std


def cited_by(users, std, *codes):
    for code in codes:
        effective(users, code, content(code, f"Procedure {code}"))
    services.cite(users["approver"], std, list(codes))
    db.session.commit()


def crs() -> list[ChangeRequest]:
    return list(db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)))


# -- categories ---------------------------------------------------------------------------


def test_the_base_quality_management_work_preset_makes_four_coded_categories(users):
    made = services.apply_preset(users["admin"], "types")
    db.session.commit()
    assert [(c.code, c.name) for c in made] == [
        ("JC", "Base standards"),
        ("ZL", "Quality standards"),
        ("GL", "Management standards"),
        ("GZ", "Work standards"),
    ]
    assert services.schemes() == ["types"]
    assert (
        trail.events_for("standard_category", "types")[0].action
        == "standard_category.preset_applied"
    )


def test_the_gbt_24421_preset_nests_numbered_sub_categories_under_four_systems(users):
    services.apply_preset(users["approver"], "gbt24421")
    db.session.commit()
    cats = services.categories("gbt24421")
    top = [c.code for c in cats if c.parent_id is None]
    assert top == ["100", "200", "300", "400"]
    codes = [c.code for c in cats]
    # Each sub-category follows its system, in the order of GB/T 24421.2.
    assert codes.index("101") == codes.index("100") + 1
    assert codes.index("301") == codes.index("300") + 1
    by_code = {c.code: c for c in cats}
    assert by_code["303"].parent_id == by_code["300"].id
    assert by_code["100"].name == "General base standards"


def test_a_preset_is_named_in_the_language_of_whoever_applies_it(app, users):
    from flask_babel import force_locale

    with force_locale("zh_Hans"):
        made = services.apply_preset(users["admin"], "types")
    db.session.commit()
    # Whatever the catalogue holds, the name stored is the one shown to the user then.
    with force_locale("zh_Hans"):
        from qms.standards.labels import PRESETS

        assert made[0].name == str(PRESETS["types"][0][1])


def test_a_preset_cannot_be_applied_twice(users):
    services.apply_preset(users["admin"], "types")
    db.session.commit()
    with pytest.raises(ValidationFailed, match="already has categories"):
        services.apply_preset(users["admin"], "types")
    assert db.session.scalar(select(func.count()).select_from(StandardCategory)) == 4


def test_only_the_quality_office_configures_categories(users):
    for name in ("staff", "author", "auditor"):
        with pytest.raises(PermissionDenied):
            services.apply_preset(users[name], "types")
        with pytest.raises(PermissionDenied):
            services.add_category(users[name], "services", "A", "Anything")
    assert db.session.scalar(select(func.count()).select_from(StandardCategory)) == 0


def test_categories_are_added_renamed_moved_and_refused_under_themselves(users):
    office = users["admin"]
    a = services.add_category(office, "services", "A", "Hall")
    b = services.add_category(office, "services", "B", "Windows", parent=a.id)
    db.session.commit()
    services.change_category(office, b, name="Counters", parent=None)
    db.session.commit()
    assert (b.name, b.parent_id) == ("Counters", None)
    services.change_category(office, b, parent=a.id)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="under itself"):
        services.change_category(office, a, parent=b.id)
    with pytest.raises(ValidationFailed, match="already has a category"):
        services.add_category(office, "services", "a", "Again")
    with pytest.raises(ValidationFailed, match="lower-case"):
        services.add_category(office, "Bad Scheme!", "X", "Again")
    actions = [e.action for e in trail.events_for("standard_category", "services:B")]
    assert actions == [
        "standard_category.added",
        "standard_category.changed",
        "standard_category.changed",
    ]


def test_a_category_with_content_cannot_be_removed(users):
    office = users["admin"]
    full = services.add_category(office, "services", "A", "Hall")
    empty = services.add_category(office, "services", "B", "Spare")
    db.session.commit()
    standard(users, category=full.id)
    with pytest.raises(
        ValidationFailed,
        match="cannot be removed: it holds 0 sub-categories, 0 documents and 1 standards",
    ):
        services.remove_category(office, full)
    services.remove_category(office, empty)
    db.session.commit()
    assert [c.code for c in services.categories("services")] == ["A"]


# -- the register ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("gb/t39734—2020", "GB/T 39734-2020"),
        ("ＧＢ／Ｔ　３２１６９．１－２０１５", "GB/T 32169.1-2015"),
        ("  ISO  9001 : 2015 ", "ISO 9001:2015"),
        ("GB/T 24421.1 - 2009", "GB/T 24421.1-2009"),
        ("db33/t1234-2021", "DB33/T 1234-2021"),
        ("ISO/IEC17025:2017", "ISO/IEC 17025:2017"),
        ("ISO9001:2015", "ISO 9001:2015"),
    ],
)
def test_a_standards_number_is_normalised(typed, stored):
    assert services.normalise_number(typed) == stored


def test_a_standard_is_registered_once_under_its_normalised_number_with_its_year(users):
    std = standard(users, "gb/t 39734-2020")
    assert (std.number, std.edition, std.status) == ("GB/T 39734-2020", "2020", "in_force")
    with pytest.raises(ValidationFailed, match="already in the register") as refused:
        services.add_standard(users["approver"], "GB/T39734-2020", "Again")
    assert refused.value.field == "number"
    assert trail.events_for("external_standard", "GB/T 39734-2020")[0].action == "standard.added"


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"number": ""}, "number", "Give the standard's number"),
        ({"number": "no digits"}, "number", "is not a standard's number"),
        ({"title": "  "}, "title", "A title is required"),
        ({"effective_on": "1 Nov 2020"}, "effective_on", "YYYY-MM-DD"),
        ({"category": 999}, "category", "no such category"),
        ({"document": "QP-99"}, "document", "QP-99"),
    ],
)
def test_bad_input_to_the_register_gets_a_clear_message(users, kw, field, message):
    args = {"number": "GB/T 39734-2020", "title": "Service specification", **kw}
    with pytest.raises(ValidationFailed, match=message) as refused:
        services.add_standard(users["approver"], **args)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ExternalStandard)) == 0


def test_only_the_quality_office_keeps_the_register(users):
    std = standard(users)
    for name in ("staff", "author", "auditor"):
        with pytest.raises(PermissionDenied):
            services.add_standard(users[name], "GB/T 1-2020", "Anything")
        with pytest.raises(PermissionDenied):
            services.change_standard(users[name], std, title="Changed")
        with pytest.raises(PermissionDenied):
            services.set_status(users[name], std, "withdrawn")
        with pytest.raises(PermissionDenied):
            services.cite(users[name], std, ["QP-07"])
    db.session.rollback()
    assert std.status == "in_force"


def test_changing_a_standard_leaves_a_trail_event_before_and_after(users):
    std = standard(users)
    services.change_standard(
        users["approver"], std, issuing_body="SAMR/SAC", effective_on=date(2020, 11, 1)
    )
    db.session.commit()
    event = trail.events_for("external_standard", std.number)[-1]
    assert event.action == "standard.changed"
    assert (event.before["issuing_body"], event.after["issuing_body"]) == ("", "SAMR/SAC")
    with pytest.raises(ValidationFailed, match="Nothing was changed"):
        services.change_standard(users["approver"], std, issuing_body="SAMR/SAC")


# -- replaced or withdrawn: change requests on citing documents ------------------------------


def test_a_replaced_standard_raises_one_change_request_on_its_citing_documents(users):
    old = standard(users, "GB/T 19001-2008", "Quality management systems — Requirements")
    cited_by(users, old, "QP-07", "QP-08")
    raised = services.set_status(
        users["approver"],
        old,
        "replaced",
        replaced_by="GB/T 19001-2016",
        successor_title="Quality management systems — Requirements",
    )
    db.session.commit()
    new = services.standard_by_number("GB/T 19001-2016")
    assert (old.status, old.replaced_by_id, new.status) == ("replaced", new.id, "in_force")
    [cr] = crs()
    assert cr.number == raised
    assert sorted(d.document.code for d in cr.document_rows) == ["QP-07", "QP-08"]
    assert "GB/T 19001-2008" in cr.reason and "GB/T 19001-2016" in cr.reason
    assert "GB/T 19001-2016" in cr.title
    event = trail.events_for("external_standard", old.number)[-1]
    assert (event.action, event.after["change_request"]) == ("standard.status_changed", cr.number)


def test_setting_the_same_status_again_raises_no_second_change_request(users):
    old = standard(users, "GB/T 19001-2008", "QMS requirements")
    new = standard(users, "GB/T 19001-2016", "QMS requirements")
    cited_by(users, old, "QP-07")
    services.set_status(users["approver"], old, "replaced", replaced_by=new.number)
    db.session.commit()
    assert services.set_status(users["approver"], old, "replaced", replaced_by=new.number) is None
    db.session.commit()
    # Withdrawn while the first request is still open: still one.
    assert services.set_status(users["approver"], old, "withdrawn") is None
    db.session.commit()
    assert len(crs()) == 1


def test_a_withdrawn_standard_raises_a_change_request_naming_it(users):
    std = standard(users, "GB/T 24421.1-2009", "Service organisation standardisation guide")
    cited_by(users, std, "QP-07")
    raised = services.set_status(users["approver"], std, "withdrawn", reason="Notice 2025/12")
    db.session.commit()
    [cr] = crs()
    assert cr.number == raised and "withdrawn" in cr.title
    assert "GB/T 24421.1-2009" in cr.reason and "Notice 2025/12" in cr.reason
    assert std.replaced_by_id is None


def test_no_change_request_when_no_document_cites_the_standard(users):
    std = standard(users)
    assert services.set_status(users["approver"], std, "withdrawn") is None
    db.session.commit()
    assert crs() == [] and std.status == "withdrawn"


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"status": "gone"}, "status", "The status is one of"),
        ({"status": "replaced"}, "replaced_by", "Name the standard that replaces"),
        ({"status": "replaced", "replaced_by": "GB/T 9-2030"}, "successor_title", "give its title"),
        (
            {"status": "replaced", "replaced_by": "gb/t 39734-2020"},
            "replaced_by",
            "cannot replace itself",
        ),
    ],
)
def test_a_bad_status_change_is_refused_and_leaves_nothing(users, kw, field, message):
    std = standard(users)
    cited_by(users, std, "QP-07")
    with pytest.raises(ValidationFailed, match=message) as refused:
        services.set_status(users["approver"], std, **kw)
    assert refused.value.field == field
    db.session.rollback()
    assert (std.status, crs()) == ("in_force", [])
    assert db.session.scalar(select(func.count()).select_from(ExternalStandard)) == 1


# -- citations --------------------------------------------------------------------------------


def test_citations_are_recorded_by_document_code_and_found_in_effective_text(users):
    std = standard(users)
    text = content(
        "WI-07-01", "Window service", "# Window service\n\nAs GB/T 39734-2020 requires.\n"
    )
    effective(users, "WI-07-01", text)
    effective(users, "QP-07")
    db.session.commit()
    assert [d.code for d in services.find_citing(std)] == ["WI-07-01"]
    services.cite(users["approver"], std, ["WI-07-01"])
    db.session.commit()
    assert [d.code for d in services.citing_documents(std)] == ["WI-07-01"]
    assert services.find_citing(std) == []
    with pytest.raises(ValidationFailed, match="already recorded"):
        services.cite(users["approver"], std, ["WI-07-01"])
    with pytest.raises(ValidationFailed, match="QP-99"):
        services.cite(users["approver"], std, ["QP-99"])
    services.uncite(users["approver"], std, "WI-07-01")
    db.session.commit()
    assert services.citing_documents(std) == []
    actions = [e.action for e in trail.events_for("external_standard", std.number)]
    assert actions == ["standard.added", "standard.cited", "standard.uncited"]


# -- placing documents and the table ------------------------------------------------------------


def test_documents_are_placed_in_one_category_per_scheme_and_counted_in_the_table(users):
    cats = {c.code: c for c in services.apply_preset(users["admin"], "gbt24421")}
    effective(users, "QP-07")
    effective(users, "QP-08", content("QP-08", "Service hall"))
    db.session.commit()
    assert [d.code for d in services.unplaced("gbt24421")] == ["QP-07", "QP-08"]
    placed = services.place(
        users["approver"], "gbt24421", {"QP-07": cats["301"].id, "QP-08": cats["201"].id}
    )
    db.session.commit()
    assert placed == 2 and services.unplaced("gbt24421") == []
    # Placed again in the same scheme, a document moves: still one row.
    services.place(users["approver"], "gbt24421", {"QP-08": cats["302"].id})
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DocumentCategory)) == 2
    standard(users, category=cats["301"].id)
    nodes = {n.category.code: n for n in services.table("gbt24421")}
    assert [d.code for d in nodes["301"].documents] == ["QP-07"]
    assert (nodes["300"].total_documents, nodes["300"].total_standards) == (2, 1)
    assert nodes["200"].total == 0
    assert trail.events_for("document", "QP-08")[-1].action == "document.placed"


def test_placing_is_refused_to_staff_and_for_another_schemes_category(users):
    services.apply_preset(users["admin"], "types")
    other = services.apply_preset(users["admin"], "gbt24421")[0]
    effective(users, "QP-07")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.place(users["staff"], "types", {"QP-07": other.id})
    with pytest.raises(ValidationFailed, match="another scheme"):
        services.place(users["approver"], "types", {"QP-07": other.id})
    with pytest.raises(ValidationFailed, match="at least one"):
        services.place(users["approver"], "types", {"QP-07": ""})


# -- pages --------------------------------------------------------------------------------------


def test_the_office_adds_a_standard_on_the_list_page_and_bad_input_keeps_what_was_typed(
    users, client, auth
):
    auth.login("approver")
    bad = client.post("/standards/", data={"number": "no digits", "title": "Typed title"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "is not a standard" in page and 'value="Typed title"' in page
    made = client.post("/standards/", data={"number": "gb/t 39734-2020", "title": "服务规范"})
    assert made.status_code == 302
    std = services.standard_by_number("GB/T 39734-2020")
    assert made.location.endswith(f"/standards/{std.id}")
    listing = client.get("/standards/?status=in_force").get_data(as_text=True)
    assert "GB/T 39734-2020" in listing and "服务规范" in listing
    assert "服务规范" not in client.get("/standards/?status=withdrawn").get_data(as_text=True)


def test_staff_read_the_pages_but_cannot_change_anything(users, client, auth):
    std = standard(users)
    auth.login("staff")
    assert client.get("/standards/").status_code == 200
    page = client.get(f"/standards/{std.id}").get_data(as_text=True)
    assert "Change the status" not in page
    assert (
        client.post(f"/standards/{std.id}/status", data={"status": "withdrawn"}).status_code == 403
    )
    assert client.post("/standards/categories/preset", data={"preset": "types"}).status_code == 403
    assert client.get("/standards/categories").status_code == 403
    assert client.get("/standards/placement").status_code == 403
    db.session.expire_all()
    assert std.status == "in_force"


def test_the_status_form_marks_a_standard_replaced_and_raises_the_change_request(
    users, client, auth
):
    std = standard(users, "GB/T 19001-2008", "QMS requirements")
    cited_by(users, std, "QP-07")
    auth.login("approver")
    missing = client.post(
        f"/standards/{std.id}/status", data={"status": "replaced", "replaced_by": "GB/T 19001-2016"}
    )
    assert missing.status_code == 422 and "give its title" in missing.get_data(as_text=True)
    done = client.post(
        f"/standards/{std.id}/status",
        data={
            "status": "replaced",
            "replaced_by": "GB/T 19001-2016",
            "successor_title": "QMS requirements",
        },
        follow_redirects=True,
    )
    page = done.get_data(as_text=True)
    assert "GB/T 19001-2016" in page and crs()[0].number in page
    successor = services.standard_by_number("GB/T 19001-2016")
    assert "GB/T 19001-2008" in client.get(f"/standards/{successor.id}").get_data(as_text=True)


def test_the_categories_page_applies_a_preset_and_refuses_removing_a_full_category(
    users, client, auth
):
    auth.login("admin")
    assert client.post("/standards/categories/preset", data={"preset": "types"}).status_code == 302
    zl = db.session.scalar(select(StandardCategory).filter_by(scheme="types", code="ZL"))
    standard(users, category=zl.id)
    refused = client.post(f"/standards/categories/{zl.id}/remove")
    assert refused.status_code == 422 and "cannot be removed" in refused.get_data(as_text=True)
    page = client.get("/standards/categories?scheme=types").get_data(as_text=True)
    assert "Quality standards" in page


def test_the_table_page_shows_categories_with_counts_and_the_placement_page_places(
    users, client, auth
):
    cats = {c.code: c for c in services.apply_preset(users["admin"], "types")}
    effective(users, "QP-07")
    db.session.commit()
    auth.login("approver")
    page = client.get("/standards/placement?scheme=types").get_data(as_text=True)
    assert "QP-07" in page
    placed = client.post(
        "/standards/placement?scheme=types", data={"doc-QP-07": str(cats["GL"].id)}
    )
    assert placed.status_code == 302
    table = client.get("/standards/table?scheme=types").get_data(as_text=True)
    assert "Management standards" in table and "QP-07" in table and "<progress" in table


def test_find_citing_documents_proposes_them_and_the_ticked_ones_are_recorded(users, client, auth):
    std = standard(users)
    body = "# Window service\n\nAs GB/T 39734-2020 requires.\n"
    effective(users, "QP-09", content("QP-09", "Window service", body))
    effective(users, "QP-07")
    db.session.commit()
    auth.login("approver")
    page = client.get(f"/standards/{std.id}?find=1").get_data(as_text=True)
    assert 'name="pick" value="QP-09"' in page and 'value="QP-07"' not in page
    assert client.post(f"/standards/{std.id}/citations", data={"pick": "QP-09"}).status_code == 302
    assert [d.code for d in services.citing_documents(std)] == ["QP-09"]
    typed = client.post(f"/standards/{std.id}/citations", data={"documents": "QP-99"})
    assert typed.status_code == 422 and "QP-99" in typed.get_data(as_text=True)
    removed = client.post(f"/standards/{std.id}/citations/remove", data={"code": "QP-09"})
    assert removed.status_code == 302 and services.citing_documents(std) == []


def test_a_category_is_renamed_and_moved_on_the_categories_page(users, client, auth):
    cats = {c.code: c for c in services.apply_preset(users["admin"], "types")}
    db.session.commit()
    auth.login("admin")
    gz = cats["GZ"]
    moved = client.post(
        f"/standards/categories/{gz.id}?scheme=types",
        data={
            f"c{gz.id}-code": "GZ",
            f"c{gz.id}-name": "Post standards",
            f"c{gz.id}-parent": str(cats["GL"].id),
        },
    )
    assert moved.status_code == 302
    db.session.expire_all()
    assert (gz.name, gz.parent_id) == ("Post standards", cats["GL"].id)
    loop = client.post(
        f"/standards/categories/{cats['GL'].id}?scheme=types",
        data={
            f"c{cats['GL'].id}-code": "GL",
            f"c{cats['GL'].id}-name": "Management standards",
            f"c{cats['GL'].id}-parent": str(gz.id),
        },
    )
    assert loop.status_code == 422 and "under itself" in loop.get_data(as_text=True)


def test_a_refused_change_on_a_page_leaves_no_trace(users, client, auth):
    std = standard(users)
    before = len(trail.events_for("external_standard", std.number))
    auth.login("approver")
    refused = client.post(
        f"/standards/{std.id}",
        data={"number": "GB/T 39734-2020", "title": "x", "effective_on": "not a date"},
    )
    assert refused.status_code == 422
    db.session.expire_all()
    assert std.title != "x"
    assert len(trail.events_for("external_standard", std.number)) == before


def test_the_list_xlsx_has_a_title_row_a_header_row_and_one_row_per_standard_filtered(
    users, client, auth
):
    import io

    from openpyxl import load_workbook

    standard(users, "GB/T 39734-2020", "政务服务中心服务现场管理规范")
    old = standard(users, "GB/T 24421.1-2009", '=HYPERLINK("x")')
    services.set_status(users["approver"], old, "withdrawn")
    db.session.commit()
    auth.login("staff")
    response = client.get("/standards/list.xlsx?status=in_force")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "List of standards"
    assert rows[1][:3] == ["No.", "Standard number", "Standard title"]
    assert rows[2][:4] == ["1", "GB/T 39734-2020", "政务服务中心服务现场管理规范", "2020"]
    assert len(rows) == 3
    withdrawn = load_workbook(io.BytesIO(client.get("/standards/list.xlsx?status=withdrawn").data))
    # A title typed as a formula stays text.
    assert withdrawn.active.cell(3, 3).value == '\'=HYPERLINK("x")'


# -- API ----------------------------------------------------------------------------------------


def test_api_lists_creates_shows_and_changes_the_status_of_standards(users, client):
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    cats = {c.code: c for c in services.apply_preset(users["admin"], "types")}
    effective(users, "QP-07")
    db.session.commit()
    made = client.post(
        "/api/v1/standards",
        json={"number": "gb/t 19001-2008", "title": "QMS requirements", "category": cats["ZL"].id},
        headers=office,
    )
    assert made.status_code == 201, made.json
    assert (made.json["number"], made.json["edition"]) == ("GB/T 19001-2008", "2008")
    ident = made.json["id"]
    refused = client.post(
        "/api/v1/standards", json={"number": "GB/T 1-2020", "title": "x"}, headers=staff
    )
    assert refused.status_code == 403
    bad = client.post(
        "/api/v1/standards", json={"number": "GB/T 19001-2008", "title": "x"}, headers=office
    )
    assert bad.status_code == 422 and "already in the register" in bad.json["error"]
    std = services.get_standard(ident)
    services.cite(users["approver"], std, ["QP-07"])
    db.session.commit()
    listed = client.get(
        f"/api/v1/standards?category={cats['ZL'].id}&status=in_force", headers=staff
    ).json
    assert [s["number"] for s in listed["items"]] == ["GB/T 19001-2008"]
    detail = client.get(f"/api/v1/standards/{ident}", headers=staff).json
    assert detail["citing_documents"] == ["QP-07"]
    changed = client.post(
        f"/api/v1/standards/{ident}/status",
        json={
            "status": "replaced",
            "replaced_by": "GB/T 19001-2016",
            "successor_title": "QMS requirements",
        },
        headers=office,
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["standard"]["replaced_by"] == "GB/T 19001-2016"
    assert changed.json["change_request"] == changed.json["standard"]["open_change_requests"][0]
    assert client.get("/api/v1/standards/999", headers=staff).status_code == 404
    categories = client.get("/api/v1/standard-categories?scheme=types", headers=staff).json["items"]
    assert [c["code"] for c in categories] == ["JC", "ZL", "GL", "GZ"]


# -- demo ---------------------------------------------------------------------------------------


def test_the_demo_places_documents_and_registers_real_standards_in_chinese(users):
    from qms.auth.services import create_user
    from qms.demo.standards import load_standards

    create_user("mrep", "mrep-demo-password-1", ["approver"], "Quality Office")
    effective(users, "QP-07", content("QP-07", "服务受理与限时办结程序"))
    effective(users, "QP-05", content("QP-05", "管理评审程序"))
    load_standards("zh_Hans")
    db.session.commit()
    stds = {s.number: s for s in services.list_standards()}
    assert len(stds) == 15
    assert stds["GB/T 39734-2020"].title == "政务服务中心服务现场管理规范"
    assert stds["GB/T 19001-2008"].replaced_by.number == "GB/T 19001-2016"
    assert [d.code for d in services.citing_documents(stds["ISO 9001:2015"])] == ["QP-05"]
    placed = {d.code: n.category.code for n in services.table("types") for d in n.documents}
    assert placed == {"QP-05": "GL", "QP-07": "ZL"}

"""Search: substring matching in English and Chinese, ranking, snippets, revisions, API."""

import pytest
from sqlalchemy import text

from qms import search
from qms.auth.services import create_token
from qms.documents import services
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.search.text import markdown_to_text, snippet
from qms.uow import unit_of_work
from tests.builders import content, effective
from tests.conftest import PASSWORD

ZH = """# 文件控制程序

## 目的

为确保质量管理体系所需的文件得到有效控制，特制定本程序。

## 职责

质量办公室负责文件的编号、发放和回收。受控文件加盖受控章。
"""

ZH_OTHER = """# 不合格品控制程序

## 目的

对不合格的服务进行识别和控制，防止误用。
"""

EN = """# Document control

## Purpose

This procedure controls documents and records. Records are kept for three years.

| Record | Retention |
| --- | --- |
| Audit report | 3 years |
"""


def codes(results) -> list[str]:
    return [hit.key for hit in results.items]


@pytest.fixture
def library(users):
    """Three effective procedures: one English, two Chinese."""
    effective(users, "QP-07", content("QP-07", "Document control", EN))
    effective(users, "QP-08", content("QP-08", "文件控制程序", ZH))
    effective(users, "QP-09", content("QP-09", "不合格品控制程序", ZH_OTHER))
    return users


def test_release_indexes_the_effective_revision(library):
    assert codes(search.search("retention")) == ["QP-07"]


CHINESE = [
    ("控", ["QP-08", "QP-09"]),  # one character
    ("控制", ["QP-08", "QP-09"]),  # two characters, in both titles
    ("受控", ["QP-08"]),  # two characters inside a sentence, no spaces around them
    ("发放", ["QP-08"]),
    ("误用", ["QP-09"]),
    ("质量办公室", ["QP-08"]),
    ("审核", []),
]
ENGLISH = [
    ("RETENTION", ["QP-07"]),  # case does not matter
    ("audit report", ["QP-07"]),  # every word, anywhere
    ("report audit", ["QP-07"]),
    ("a", ["QP-07"]),  # one letter
    ("records control", ["QP-07"]),
    ("records nowhere", []),
    ("ｒｅｃｏｒｄｓ", ["QP-07"]),  # full-width letters fold to ordinary ones
]


def test_chinese_queries_of_one_or_more_characters_find_every_document(library):
    found = {query: sorted(codes(search.search(query))) for query, _expected in CHINESE}
    assert found == dict(CHINESE)


def test_english_queries_match_every_word_case_insensitively(library):
    found = {query: codes(search.search(query)) for query, _expected in ENGLISH}
    assert found == dict(ENGLISH)


def test_like_wildcards_in_a_query_are_literal(library):
    assert codes(search.search("%")) == []
    assert codes(search.search("_")) == []


def test_title_matches_rank_first_then_number_of_matches(users):
    effective(users, "QP-01", content("QP-01", "Training", "# Training\n\naudit\n"))
    effective(users, "QP-02", content("QP-02", "Records", "# Records\n\naudit audit audit\n"))
    effective(users, "QP-03", content("QP-03", "Internal audit", "# Internal audit\n\nplan\n"))
    assert codes(search.search("audit")) == ["QP-03", "QP-02", "QP-01"]


def test_snippet_shows_the_passage_with_the_match_marked_and_html_escaped():
    text = "x " * 200 + "<b>Records</b> are kept for three years. " + "y " * 200
    html = str(snippet(text, ["records"]))
    assert "&lt;b&gt;<mark>Records</mark>&lt;/b&gt; are kept" in html
    assert html.startswith("…") and html.endswith("…")
    assert "<b>" not in html


def test_snippet_marks_chinese_matches():
    html = str(snippet("质量办公室负责文件的编号、发放和回收。", ["发放"]))
    assert html == "质量办公室负责文件的编号、<mark>发放</mark>和回收。"


def test_markdown_is_indexed_as_plain_words():
    text = markdown_to_text(
        "# Title\n\n- **bold** [link](http://x.org) ![pic](a.png)\n\n| a | b |\n| --- | --- |\n"
    )
    assert text == "Title bold link pic a b"
    # A table read from a Word file, and a grid table.
    simple = "  ------ ----------\n   职责      部门\n\n   审批   管理者代表\n  ------ ----------\n"
    assert markdown_to_text(simple) == "职责 部门 审批 管理者代表"
    grid = "+-----+-----+\n| a   | b   |\n+=====+=====+\n| c   | d   |\n+-----+-----+\n\n---\n"
    assert markdown_to_text(grid) == "a b c d"


def test_superseded_revisions_are_found_only_with_all_revisions(library):
    doc = services.get_document("QP-07")
    services.save_draft(
        library["author"],
        doc,
        content("QP-07", "Document control", "# Document control\n\nNew.\n"),
        "Shorter",
    )
    services.submit(library["author"], doc)
    services.approve(library["approver"], doc, PASSWORD)
    services.release(library["approver"], doc)
    assert codes(search.search("retention")) == []
    old = search.search("retention", all_revisions=True)
    assert [(h.key, h.version, h.current) for h in old.items] == [("QP-07", "A", False)]
    assert [(h.key, h.version) for h in search.search("new").items] == [("QP-07", "B")]


def test_obsolete_documents_leave_the_current_results(library):
    services.obsolete(library["approver"], services.get_document("QP-07"), "Merged")
    assert codes(search.search("retention")) == []
    assert codes(search.search("retention", all_revisions=True)) == ["QP-07"]


def test_a_release_refused_after_indexing_leaves_no_index_entry(users):
    doc = services.create_document(users["author"], "QP-11", "Complaints", "procedure")
    services.save_draft(users["author"], doc, content("QP-11", "Complaints", "# 投诉处理\n"), "x")
    services.submit(users["author"], doc)
    services.approve(users["approver"], doc, PASSWORD)
    with pytest.raises(ValidationFailed), unit_of_work():
        services.release(users["approver"], doc)
        assert codes(search.search("投诉处理")) == ["QP-11"]  # indexed in the transaction
        raise ValidationFailed("a later step of the same unit is refused")
    assert search.search("投诉处理").total == 0
    assert services.store().head("refs/tags/QP-11/A") is None


def test_an_entry_that_cannot_be_written_does_not_stop_the_save(users, monkeypatch):
    improvement = pytest.importorskip("qms.improvement.services")
    from qms.search import domains
    from tests.builders_improvement import raised

    def broken(nc):
        # A database error: on PostgreSQL it aborts the transaction unless it is contained.
        db.session.execute(text("SELECT no_such_column FROM audit_event"))

    monkeypatch.setattr(
        domains,
        "WATCHED",
        [
            w if w.type != "nonconformity" else w.__class__(w.type, w.model, broken, w.key)
            for w in domains.WATCHED
        ],
    )
    nc = raised(users, title="Printer down")
    db.session.expire_all()
    assert improvement.get_nc(nc.number).title == "Printer down"
    assert search.search("printer").total == 0


def test_drafts_are_not_indexed(users):
    doc = services.create_document(users["author"], "QP-10", "Drafting", "procedure")
    services.save_draft(users["author"], doc, content("QP-10", "Drafting", "# Secret plan\n"), "x")
    assert search.search("secret").total == 0


def test_type_filter(library):
    assert search.search("control", types=["document"]).total == 1
    assert search.search("control", types=["record"]).total == 0
    with pytest.raises(search.services.ValidationFailed):
        search.search("control", types=["spaceship"])


def test_results_are_paged(users):
    for n in range(1, 6):
        search.index("record", f"R-{n}", f"Record {n}", "calibration of scales")
    db.session.commit()
    first = search.search("calibration", per_page=2)
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    last = search.search("calibration", per_page=2, page=3)
    assert len(last.items) == 1


def test_an_item_is_found_by_its_whole_number(users):
    """A record's number (form code, year, serial) finds it though its text never says it."""
    search.index("record", "RF-06-00-01/2026/000003", "RF-06-00-01 Survey", "very satisfied")
    search.index("record", "RF-06-00-01/2026/000004", "RF-06-00-01 Survey", "satisfied")
    db.session.commit()
    found = search.search("RF-06-00-01/2026/000003")
    assert [hit.key for hit in found.items] == ["RF-06-00-01/2026/000003"]
    assert search.search("rf-06-00-01/2026").total == 2


def test_reindex_rebuilds_from_the_providers(library, runner):
    db.session.execute(db.delete(search.services.SearchEntry))
    db.session.commit()
    assert search.search("控制").total == 0
    result = runner.invoke(args=["qms", "reindex"])
    assert result.exit_code == 0, result.output
    assert "document: 3 indexed" in result.output
    assert search.search("控制").total == 2


def test_index_and_remove_are_the_public_way_in(ctx):
    search.index("nonconformity", "NC-2026-0001", "Wrong stamp", "受控章 missing")
    db.session.commit()
    assert codes(search.search("受控章")) == ["NC-2026-0001"]
    search.remove("nonconformity", "NC-2026-0001")
    db.session.commit()
    assert search.search("受控章").total == 0


# -- the page and the API --------------------------------------------------------------


@pytest.fixture
def indexed(users):
    """The same texts put straight into the index: pages and API need no releases."""
    for code, title, body, current in [
        ("QP-07", "Document control", EN, False),
        ("QP-08", "文件控制程序", ZH, True),
    ]:
        search.index(
            "document",
            code,
            title,
            markdown_to_text(body),
            version="A",
            current=current,
            endpoint="documents.detail",
            params={"code": code},
        )
    db.session.commit()
    return users


def test_header_search_box_goes_to_the_search_page(library, client, auth):
    auth.login("staff")
    page = client.get("/documents/").get_data(as_text=True)
    assert 'action="/search/"' in page
    response = client.get("/search/?q=受控")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<mark>受控</mark>" in html and "/documents/QP-08" in html


@pytest.mark.parametrize("username", ["staff", "auditor", "approver", "admin"])
def test_every_role_can_search(indexed, client, auth, username):
    auth.login(username)
    assert client.get("/search/?q=control&type=document&all_revisions=y").status_code == 200


def test_search_page_keeps_an_overlong_query_with_the_error(indexed, client, auth):
    auth.login("staff")
    response = client.get("/search/?q=" + "x" * 300)
    assert response.status_code == 200
    assert "x" * 300 in response.get_data(as_text=True)


def test_search_page_shows_an_unknown_type_as_an_error(indexed, client, auth):
    auth.login("staff")
    response = client.get("/search/?q=x&type=spaceship")
    assert response.status_code == 200
    assert 'role="alert"' in response.get_data(as_text=True)


@pytest.fixture
def api(client, users):
    token = create_token(users["staff"])
    db.session.commit()

    def get(query):
        return client.get(f"/api/v1/search?{query}", headers={"Authorization": f"Bearer {token}"})

    return get


def test_api_search(indexed, api):
    response = api("q=发放&type=document")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    hit = body["items"][0]
    assert (hit["type"], hit["key"], hit["title"]) == ("document", "QP-08", "文件控制程序")
    assert "<mark>发放</mark>" in hit["snippet"]


def test_api_search_all_revisions_flag(indexed, api):
    assert api("q=retention").json["total"] == 0
    assert api("q=retention&all_revisions=true").json["total"] == 1


@pytest.mark.parametrize("query", ["", "q=", "q=x&type=spaceship", "q=" + "x" * 201])
def test_api_rejects_bad_queries_as_json(indexed, api, query):
    response = api(query)
    assert response.status_code == 422
    assert response.json["error"]


def test_api_requires_a_token(client):
    assert client.get("/api/v1/search?q=x").status_code == 401

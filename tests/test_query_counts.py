"""The SQL queries of each page the benchmark measures do not grow with rows.

Each page is fetched at two data sizes and its queries counted with SQLAlchemy's
``before_cursor_execute`` event; a page whose count grows with the rows it lists (an
N+1 load, a lookup per row) fails, whatever the machine's speed. Besides the list pages
and each role's home: a document page, a revision's history page, a redline, an NC and
its improvement chain, a management review, the objectives, the record list filtered by
a field value, search, and the API's document list and detail.
"""

import gc
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from qms.auth.services import create_token
from qms.extensions import db
from qms.reviews import objectives
from qms.reviews import services as reviews
from tests.builders import content, effective, in_review, new_document
from tests.builders_audits import plan
from tests.builders_improvement import action_for, in_action_plan, in_implementation, raised
from tests.builders_records import form_in_force, submit
from tests.conftest import PASSWORD

YEAR = date.today().year
LIST_PAGES = {
    "register": "/documents/",
    "register filtered": "/documents/?type=procedure",
    "hierarchy": "/documents/tree",
    "records list": "/records/all",
    "NC list": "/improvement/",
    "actions list": "/improvement/actions/",
    "audit programme": f"/audits/programme/{YEAR}",
}
HOMES = ["staff", "author", "approver", "approver2", "auditor", "admin"]
#: Pages of one object (set up once, before the rows grow), by name: their URL.
ONE_OBJECT_PAGES = {
    "document page": "/documents/QP-90",
    "history": "/documents/QP-90/revisions/A",
    "redline": "/documents/QP-90/diff?from=A&to=B",
    "NC page": "/improvement/{nc}",
    "NC chain page": "/trail/nc/{nc}",
    "management review page": "/reviews/{review}",
    "objectives": "/objectives/",
    "records list filtered by a field value": "/records/all?form=RF-01&field=title&value=record",
    "search": "/search/?q=record",
    "API document list": "/api/v1/documents",
    "API document detail": "/api/v1/documents/QP-90",
}


@contextmanager
def counted():
    """Count the SQL statements sent to the database inside the block."""
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    # The session's identity map holds rows weakly: a collection of cyclic garbage in the
    # middle of a request (its moment depends on how much the data made Python allocate)
    # can drop a row that a later lazy load would have found there, and cost one query
    # more at random. Counted without it, the numbers depend on the page alone.
    gc.collect()
    gc.disable()
    try:
        yield statements
    finally:
        gc.enable()
        event.remove(engine, "before_cursor_execute", before)


def add_rows(users, start: int, count: int) -> None:
    """Add ``count`` of each kind of row a list or home page shows, numbered from ``start``."""
    for n in range(start, start + count):
        effective(users, f"QP-{n:02d}", text=None)
        new_document(
            users, f"WI-{n:02d}", title=f"Work instruction {n}", doc_type="work_instruction"
        )
        in_review(users, f"WI-{n:02d}", text=content(f"WI-{n:02d}", doc_type="work_instruction"))
        submit(users, "RF-01", title=f"Record {n}")
        raised(users, title=f"Wrong form {n}", responsible="author")
        nc = in_action_plan(users, title=f"Late reply {n}")
        action_for(users, nc, owner="author2", title=f"Withdraw forms {n}")
        plan(users, title=f"Service Hall audit {n}")
        objective = objectives.create_objective(
            users["approver"], f"Objective {n}", "%", 90, "higher", "monthly"
        )
        for month in range(1, 13):
            objectives.record_measurement(users["approver"], objective, f"2025-{month:02d}", 95)


def fixed_objects(users) -> dict:
    """Set up the objects of ONE_OBJECT_PAGES: a document in two revisions, an NC with an
    action, a prepared management review; return their URL variables."""
    effective(users, "QP-90", text=content("QP-90", body="# Scope\n\nFirst.\n"))
    effective(users, "QP-90", text=content("QP-90", body="# Scope\n\nSecond.\n"))
    nc = in_implementation(users, title="Form withdrawn late")
    review = reviews.plan_review(
        users["admin"], "Annual review", date.today(), "approver", ["author"]
    )
    return {"nc": nc.number, "review": review.number}


def queries_of(app, username: str, url: str, token: str | None = None) -> int:
    client = app.test_client()
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        assert client.post(
            "/auth/login", data={"username": username, "password": PASSWORD}
        ).status_code in (302, 303)
    client.get(url, headers=headers)  # warm caches that fill once per process
    with counted() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)


@pytest.fixture
def sizes(app, ctx, users):
    """Return the query count of each (user, page) at a small and at a larger data size."""
    form_in_force(users, "RF-01", fields=[{"key": "title", "label": "Title", "type": "text"}])
    names = fixed_objects(users)
    token = create_token(users["approver"])
    pages = [("approver", name, url) for name, url in LIST_PAGES.items()]
    pages += [(user, f"home of {user}", "/") for user in HOMES]
    pages += [("approver", name, url.format(**names)) for name, url in ONE_OBJECT_PAGES.items()]

    def count_all():
        # The review's inputs are compiled again over the rows there are now.
        reviews.prepare(users["admin"], reviews.get_review(names["review"]))
        db.session.commit()
        return {
            (u, name): queries_of(app, u, url, token if url.startswith("/api/") else None)
            for u, name, url in pages
        }

    add_rows(users, 1, 2)
    small = count_all()
    add_rows(users, 3, 4)
    large = count_all()
    return small, large


def test_pages_make_as_many_queries_for_six_rows_as_for_two(sizes):
    small, large = sizes
    grown = {key: (small[key], large[key]) for key in small if large[key] > small[key]}
    assert not grown, f"queries grew with rows (small, large): {grown}"


def test_the_record_list_of_one_form_or_department_has_its_index(app, ctx):
    from sqlalchemy import inspect

    indexes = {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("record")}
    assert indexes["ix_record_form_submitted"] == ["form_code", "submitted_at"]
    assert indexes["ix_record_department_submitted"] == ["department_id", "submitted_at"]

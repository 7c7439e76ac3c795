"""The SQL queries of each list page and of each role's home page do not grow with rows.

Each page is fetched at two data sizes and its queries counted with SQLAlchemy's
``before_cursor_execute`` event; a page whose count grows with the rows it lists (an
N+1 load, a lookup per row) fails, whatever the machine's speed.
"""

from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from qms.extensions import db
from tests.builders import content, effective, in_review, new_document
from tests.builders_audits import plan
from tests.builders_improvement import action_for, in_action_plan, raised
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


@contextmanager
def counted():
    """Count the SQL statements sent to the database inside the block."""
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
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


def queries_of(app, username: str, url: str) -> int:
    client = app.test_client()
    assert client.post(
        "/auth/login", data={"username": username, "password": PASSWORD}
    ).status_code in (302, 303)
    client.get(url)  # warm caches that fill once per process (labels, templates)
    with counted() as statements:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)


@pytest.fixture
def sizes(app, ctx, users):
    """Return the query count of each (user, page) at a small and at a larger data size."""
    form_in_force(users, "RF-01", fields=[{"key": "title", "label": "Title", "type": "text"}])
    pages = [("approver", name, url) for name, url in LIST_PAGES.items()]
    pages += [(user, f"home of {user}", "/") for user in HOMES]
    add_rows(users, 1, 2)
    db.session.commit()
    small = {(u, name): queries_of(app, u, url) for u, name, url in pages}
    add_rows(users, 3, 4)
    db.session.commit()
    large = {(u, name): queries_of(app, u, url) for u, name, url in pages}
    return small, large


def test_list_and_home_pages_make_as_many_queries_for_six_rows_as_for_two(sizes):
    small, large = sizes
    grown = {key: (small[key], large[key]) for key in small if large[key] > small[key]}
    assert not grown, f"queries grew with rows (small, large): {grown}"

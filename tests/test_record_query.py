"""Objectives computed by a query over a record form's fields (issue 19)."""

from datetime import date, datetime

import pytest
from sqlalchemy import update

from qms import clock
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.records import services as records
from qms.records.models import Record
from qms.reviews import objectives, periods
from tests.builders_records import form_in_force

CHECKING = [
    {"key": "certificate_no", "label": "Certificate number", "type": "text", "required": True},
    {"key": "result", "label": "Result", "type": "radio", "options": ["pass", "corrected", "reprinted"]},
    {"key": "copies", "label": "Copies", "type": "integer"},
    {"key": "checked_at", "label": "Checked at", "type": "datetime"},
    {"key": "promised_on", "label": "Promised on", "type": "date"},
    {"key": "completed_on", "label": "Completed on", "type": "date"},
    {"key": "checks", "label": "Checks", "type": "multiselect", "options": ["seal", "address"]},
    {"key": "rows", "label": "Rows", "type": "table", "columns": [{"key": "x", "label": "X", "type": "text"}]},
]  # fmt: skip
CODE = "RF-07-03-01"
OCTOBER = ("2026-10-01", "2026-10-31")
ERRORS_QUERY = {
    "form": CODE,
    "measure": "ratio",
    "factor": 1000,
    "date": "checked_at",
    "conditions": [{"field": "result", "op": "ne", "value": "pass"}],
}


@pytest.fixture
def checking(users):
    form_in_force(users, CODE, CHECKING)
    return users


def check(users, n, result="pass", checked_at="2026-10-05T10:00", **values):
    return records.submit_record(
        users["staff"],
        CODE,
        {"certificate_no": f"C-{n}", "result": result, "checked_at": checked_at, **values},
    )


def make(users, query=ERRORS_QUERY, name="Certificate errors", **kw):
    kw.setdefault("frequency", "monthly")
    return objectives.create_objective(
        users["approver"],
        name,
        kw.pop("unit", "‰"),
        kw.pop("target", 2),
        kw.pop("direction", "lower"),
        source="record_query",
        query=query,
        **kw,
    )


def test_a_record_query_objective_gives_the_expected_per_thousand_and_lists_its_records(
    checking,
):
    wrong = [check(checking, n, "corrected" if n % 2 else "reprinted") for n in range(3)]
    right = [check(checking, 10 + n) for n in range(5)]
    check(checking, 99, "corrected", checked_at="2026-11-02T09:00")  # another period
    objective = make(checking)
    m = objectives.refresh(objective, "2026-10", checking["approver"])
    db.session.commit()
    assert m.value == 375.0  # 3 of 8 × 1000
    assert m.records["matched"] == sorted(r.number for r in wrong)
    assert m.records["base"] == sorted(r.number for r in wrong + right)

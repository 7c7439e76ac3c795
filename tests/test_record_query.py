"""Objectives computed by a query over a record form's fields (issue 19).

A record-query objective counts the records of a form matching conditions on their field
values, or takes a ratio of them over base records × a factor, per period; its value
carries the numbers of the records it came from.
"""

import json
import re

import pytest
from sqlalchemy import func, select

from qms import clock
from qms.auth.services import create_token
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.records import services as records
from qms.reviews import objectives, periods
from qms.reviews.models import Objective
from tests.builders_records import form_in_force
from tests.test_query_counts import counted

# fmt: off
CHECKING = [
    {"key": "certificate_no", "label": "Certificate number", "type": "text", "required": True},
    {"key": "result", "label": "Result", "type": "radio",
     "options": ["pass", "corrected", "reprinted"]},
    {"key": "copies", "label": "Copies", "type": "integer"},
    {"key": "checked_at", "label": "Checked at", "type": "datetime"},
    {"key": "promised_on", "label": "Promised on", "type": "date"},
    {"key": "completed_on", "label": "Completed on", "type": "date"},
    {"key": "checks", "label": "Checks", "type": "multiselect", "options": ["seal", "address"]},
    {"key": "rows", "label": "Rows", "type": "table",
     "columns": [{"key": "x", "label": "X", "type": "text"}]},
]
# fmt: on
CODE = "RF-07-03-01"
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
    raw = {"certificate_no": f"C-{n}", "result": result, "checked_at": checked_at, **values}
    return records.submit_record(users["staff"], CODE, raw)


def make(users, query=ERRORS_QUERY, name="Certificate errors", **kw):
    return objectives.create_objective(
        users["approver"],
        name,
        kw.pop("unit", "‰"),
        kw.pop("target", 2),
        kw.pop("direction", "lower"),
        kw.pop("frequency", "monthly"),
        source="record_query",
        query=query,
        **kw,
    )


def numbers(found) -> list[str]:
    return sorted(r.number for r in found)


# -- values and their records ----------------------------------------------------------------


def test_a_record_query_objective_gives_the_expected_per_thousand_and_lists_its_records(
    checking,
):
    wrong = [check(checking, n, "corrected" if n % 2 else "reprinted") for n in range(3)]
    right = [check(checking, 10 + n) for n in range(5)]
    check(checking, 99, "corrected", checked_at="2026-11-02T09:00")  # another period
    objective = make(checking)
    m = objectives.refresh(objective, "2026-10", checking["approver"])
    db.session.commit()
    assert m.value == 375.0  # 3 of 8, × 1000
    assert m.origin == "computed"
    assert m.records == {"matched": numbers(wrong), "base": numbers(wrong + right)}
    assert "3 of 8" in m.note


def test_a_ratio_takes_only_the_base_records_its_base_conditions_select(checking):
    check(checking, 1, "corrected", copies=2)
    check(checking, 2, "pass", copies=3)
    check(checking, 3, "corrected", copies=1)  # not in the base: one copy only
    check(checking, 4, "pass")  # no copies given: not greater than 1
    query = {**ERRORS_QUERY, "factor": 100, "base": [{"field": "copies", "op": "gt", "value": 1}]}
    _period, outcome = objectives.preview(query, "monthly", "2026-10")
    assert outcome.value == 50.0
    assert len(outcome.matched) == 1 and len(outcome.base) == 2


def test_an_on_time_percentage_compares_two_date_fields_of_each_record(checking):
    on_time = [
        check(checking, 1, promised_on="2026-10-10", completed_on="2026-10-09"),
        check(checking, 2, promised_on="2026-10-10", completed_on="2026-10-10"),
    ]
    late = check(checking, 3, promised_on="2026-10-10", completed_on="2026-10-12")
    check(checking, 4, promised_on="2026-10-10")  # not completed: outside the base
    check(checking, 5, promised_on="2026-09-01", completed_on="2026-09-01")  # September
    query = {
        "form": CODE,
        "measure": "ratio",
        "factor": 100,
        "date": "completed_on",
        "conditions": [{"field": "completed_on", "op": "le", "other": "promised_on"}],
        "base": [{"field": "completed_on", "op": "not_empty"}],
    }
    _period, outcome = objectives.preview(query, "monthly", "2026-10")
    assert outcome.value == pytest.approx(66.67)
    assert outcome.matched == numbers(on_time)
    assert outcome.base == numbers([*on_time, late])


def test_a_condition_compares_a_moment_with_a_date_and_a_multiple_choice_by_its_options(
    checking,
):
    late = check(checking, 1, checked_at="2026-10-20T08:00", checks=["seal", "address"])
    check(checking, 2, checked_at="2026-10-20T09:00", checks=["address"])
    check(checking, 3, checked_at="2026-10-14T23:59", checks=["seal"])
    query = {
        "form": CODE,
        "measure": "count",
        "date": "checked_at",
        "conditions": [
            {"field": "checked_at", "op": "ge", "value": "2026-10-15"},
            {"field": "checks", "op": "in", "value": ["seal"]},
        ],
    }
    assert objectives.preview(query, "monthly", "2026-10")[1].matched == [late.number]


def test_a_record_without_the_value_does_not_equal_it(checking):
    blank = records.submit_record(
        checking["staff"], CODE, {"certificate_no": "C-1", "checked_at": "2026-10-05T10:00"}
    )
    check(checking, 2, "pass")
    _period, outcome = objectives.preview(ERRORS_QUERY, "monthly", "2026-10")
    assert outcome.matched == [blank.number] and outcome.value == 500.0


def test_an_amended_record_counts_once_by_its_current_version(checking):
    first = check(checking, 1, "pass")
    check(checking, 2, "pass")
    records.amend_record(
        checking["staff"], first.number, {**first.values, "result": "reprinted"}, "Seal missing"
    )
    objective = make(checking)
    m = objectives.refresh(objective, "2026-10", checking["approver"])
    assert m.value == 500.0  # 1 of 2, not 1 of 3
    assert m.records["matched"] == [first.number]
    assert len(m.records["base"]) == 2


def test_a_void_record_is_not_counted(checking):
    wrong = check(checking, 1, "corrected")
    check(checking, 2, "pass")
    records.void_record(checking["approver"], wrong.number, "Entered twice")
    _period, outcome = objectives.preview(ERRORS_QUERY, "monthly", "2026-10")
    assert outcome.value == 0.0 and len(outcome.base) == 1


def test_a_count_by_submission_time_takes_the_records_submitted_in_the_period(checking):
    found = [check(checking, n, "reprinted") for n in range(2)]
    check(checking, 3, "pass")
    query = {"form": CODE, "measure": "count", "conditions": ERRORS_QUERY["conditions"]}
    this_month = periods.period_of(clock.today(), "monthly")
    _period, outcome = objectives.preview(query, "monthly", this_month)
    assert outcome.value == 2.0 and outcome.matched == numbers(found) and outcome.base == []
    assert objectives.preview(query, "monthly", "2001-01")[1].value == 0.0


def test_a_record_of_an_older_revision_is_read_by_its_own_fields(checking):
    old_fields = [f for f in CHECKING if f["key"] != "copies"]
    form_in_force(checking, "RF-90", old_fields)
    raw = {"certificate_no": "C-1", "result": "pass", "checked_at": "2026-10-05T10:00"}
    old = records.submit_record(checking["staff"], "RF-90", raw)
    form_in_force(checking, "RF-90", CHECKING)  # revision B adds "copies"
    new = records.submit_record(checking["staff"], "RF-90", {**raw, "copies": 2})
    assert old.form_revision != new.form_revision
    query = {
        "form": "RF-90",
        "measure": "count",
        "date": "checked_at",
        "conditions": [{"field": "copies", "op": "empty"}],
    }
    assert objectives.preview(query, "monthly", "2026-10")[1].matched == [old.number]


# -- checking the definition --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"conditions": [{"field": "colour", "op": "eq", "value": "red"}]}, "colour"),
        ({"conditions": [{"field": "result", "op": "gt", "value": "pass"}]}, "Result"),
        ({"conditions": [{"field": "result", "op": "eq", "value": "maybe"}]}, "Result"),
        ({"conditions": [{"field": "copies", "op": "lt", "value": "many"}]}, "Copies"),
        ({"conditions": [{"field": "checked_at", "op": "gt", "value": "soon"}]}, "Checked at"),
        ({"conditions": [{"field": "copies", "op": "eq"}]}, "Copies"),
        ({"conditions": [{"field": "rows", "op": "empty"}]}, "Rows"),
        ({"conditions": [{"field": "copies", "op": "le", "other": "promised_on"}]}, "Copies"),
        ({"date": "result"}, "Result"),
        ({"form": "RF-NONE"}, "record form"),
        ({"measure": "average"}, "ratio"),
        ({"factor": 7}, "1000"),
        (
            {"measure": "count", "base": [{"field": "copies", "op": "gt", "value": 1}]},
            "ratio",
        ),
    ],
)
def test_a_bad_query_is_refused_with_a_message_naming_what_is_wrong(checking, change, named):
    with pytest.raises(ValidationFailed) as exc:
        make(checking, {**ERRORS_QUERY, **change})
    assert exc.value.field == "query"
    assert named in exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Objective)) == 0


def test_a_record_query_objective_needs_its_query(checking):
    with pytest.raises(ValidationFailed) as exc:
        make(checking, None)
    assert exc.value.field == "query"


def test_a_record_query_value_is_computed_not_entered(checking):
    objective = make(checking)
    with pytest.raises(ValidationFailed):
        objectives.record_measurement(checking["approver"], objective, "2026-10", 3)


def test_the_query_is_kept_cleaned_and_in_the_trail(checking):
    from qms import trail

    query = {**ERRORS_QUERY, "conditions": [{"field": "copies", "op": "in", "value": "1, 2"}]}
    objective = make(checking, query)
    assert objective.source_query["conditions"] == [
        {"field": "copies", "op": "in", "value": [1.0, 2.0]}
    ]
    event = trail.events_for("objective", str(objective.id))[-1]
    assert event.after["query"]["form"] == CODE


def test_changing_the_query_is_in_the_trail_and_another_source_drops_it(checking):
    from qms import trail

    objective = make(checking)
    objectives.update_objective(
        checking["approver"], objective, query={**ERRORS_QUERY, "factor": 100}, unit="%"
    )
    event = trail.events_for("objective", str(objective.id))[-1]
    assert event.before["query"]["factor"] == 1000 and event.after["query"]["factor"] == 100
    objectives.update_objective(checking["approver"], objective, source="manual")
    assert objective.source_query is None


# -- the computation's statements -----------------------------------------------------------


def test_computing_a_query_costs_the_same_statements_for_ten_and_for_sixty_records(checking):
    first, second = make(checking), make(checking, name="Certificate errors again")

    def statements(objective) -> int:
        db.session.commit()
        db.session.expire_all()
        records.definition(CODE)  # parsed once per commit of the form, then cached
        with counted() as found:
            m = objectives.refresh(objective, "2026-10", checking["approver"])
        assert m is not None
        return len(found)

    for n in range(10):
        check(checking, n, "corrected" if n % 3 else "pass")
    small = statements(first)
    for n in range(10, 60):
        check(checking, n, "corrected" if n % 3 else "pass")
    assert statements(second) == small


# -- pages and API -----------------------------------------------------------------------------


def test_an_objective_defined_in_the_browser_shows_its_value_and_its_records(
    checking, client, auth
):
    wrong = [
        check(checking, n, "corrected", checked_at=f"2026-10-0{n + 1}T09:00") for n in range(2)
    ]
    right = [check(checking, 10 + n) for n in range(2)]
    db.session.commit()
    auth.login("approver")
    page = client.get("/objectives/new").get_data(as_text=True)
    assert "record-query-builder-data" in page and "js/record_query.js" in page
    fields = client.get(f"/objectives/query/fields?form={CODE}").get_json()["fields"]
    assert {f["key"] for f in fields} >= {"result", "checked_at"}
    assert "rows" not in {f["key"] for f in fields}
    preview = client.post(
        "/objectives/query/preview",
        json={"query": ERRORS_QUERY, "frequency": "monthly", "period": "2026-10"},
    ).get_json()
    assert preview == {
        "period": "2026-10",
        "value": 500.0,
        "detail": "2 of 4 records of RF-07-03-01",
        "matched": 2,
        "base": 4,
    }
    response = client.post(
        "/objectives/new",
        data={
            "name": "Certificate errors",
            "unit": "‰",
            "target": "2",
            "direction": "lower",
            "frequency": "monthly",
            "source": "record_query",
            "query": json.dumps(ERRORS_QUERY),
            "method": "",
            "owner": "",
            "active": "y",
        },
    )
    assert response.status_code == 302
    objective = db.session.scalar(select(Objective))
    assert objective.source_query["form"] == CODE
    client.post(f"/objectives/{objective.id}/refresh", data={"period": "2026-10"})
    page = client.get(f"/objectives/{objective.id}").get_data(as_text=True)
    assert "500" in page and "from 4 records" in page
    assert "Result does not equal pass" in page and "Period by: Checked at" in page
    edit = client.get(f"/objectives/{objective.id}/edit").get_data(as_text=True)
    assert "&#34;date&#34;: &#34;checked_at&#34;" in edit or '"date": "checked_at"' in edit
    listing = client.get(f"/objectives/{objective.id}/records?period=2026-10").get_data(
        as_text=True
    )
    shown = re.findall(r'href="/records/([^"]+)"', listing)
    assert sorted(shown[: len(wrong)]) == numbers(wrong)
    assert sorted(shown[len(wrong) :]) == numbers(wrong + right)


def test_a_bad_query_typed_in_the_browser_keeps_the_form_and_names_the_field(
    checking, client, auth
):
    auth.login("approver")
    typed = json.dumps(
        {**ERRORS_QUERY, "conditions": [{"field": "result", "op": "eq", "value": "maybe"}]}
    )
    response = client.post(
        "/objectives/new",
        data={
            "name": "Certificate errors",
            "unit": "‰",
            "target": "2",
            "direction": "lower",
            "frequency": "monthly",
            "source": "record_query",
            "query": typed,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Result: maybe is not one of its options" in page
    assert "maybe" in page and "Certificate errors" in page
    assert db.session.scalar(select(func.count()).select_from(Objective)) == 0


def test_the_records_behind_a_value_link_only_those_the_reader_may_open(checking, client, auth):
    from qms.auth.services import create_user

    other = create_user("other", "pw-other-123456", ["staff"], "Quality Office")
    mine = check(checking, 1, "corrected")
    theirs = records.submit_record(
        other, CODE, {"certificate_no": "C-2", "result": "pass", "checked_at": "2026-10-06T10:00"}
    )
    objective = make(checking)
    objectives.refresh(objective, "2026-10")
    db.session.commit()
    auth.login("staff")
    page = client.get(f"/objectives/{objective.id}/records?period=2026-10").get_data(as_text=True)
    assert f'href="/records/{mine.number}"' in page
    assert theirs.number in page and f'href="/records/{theirs.number}"' not in page


def test_only_the_quality_office_previews_a_query(checking, client, auth):
    auth.login("staff")
    answer = client.post("/objectives/query/preview", json={"query": ERRORS_QUERY})
    assert answer.status_code == 403
    assert client.get(f"/objectives/query/fields?form={CODE}").status_code == 403


def test_the_api_accepts_and_returns_the_query_and_the_records_of_a_value(checking, client):
    wrong = check(checking, 1, "corrected")
    check(checking, 2, "pass")
    headers = {"Authorization": f"Bearer {create_token(checking['approver'])}"}
    db.session.commit()
    response = client.post(
        "/api/v1/objectives",
        headers=headers,
        json={
            "name": "Certificate errors",
            "unit": "‰",
            "target": 2,
            "direction": "lower",
            "frequency": "monthly",
            "source": "record_query",
            "query": ERRORS_QUERY,
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["query"]["conditions"] == ERRORS_QUERY["conditions"]
    objectives.refresh(objectives.get_objective(body["id"]), "2026-10")
    db.session.commit()
    detail = client.get(f"/api/v1/objectives/{body['id']}", headers=headers).get_json()
    assert detail["measurements"][0]["records"]["matched"] == [wrong.number]
    bad = client.post(
        "/api/v1/objectives",
        headers=headers,
        json={**body | {"name": "Other"}, "query": {**ERRORS_QUERY, "date": "nowhere"}},
    )
    assert bad.status_code == 422


# -- the demo ----------------------------------------------------------------------------------


def test_the_demo_certificate_errors_objective_is_computed_from_the_checking_records(ctx):
    from qms import demo

    demo.load_demo("en")
    db.session.commit()
    objective = db.session.scalar(
        select(Objective).where(Objective.name == "Certificate errors found at checking")
    )
    assert objective.source == "record_query" and objective.unit == "‰"
    assert objective.source_query["form"] == "RF-07-03-01"
    assert len(objective.measurements) == 3
    for m in objective.measurements:
        matched, base = m.records["matched"], m.records["base"]
        assert base and set(matched) <= set(base)
        assert m.value == round(len(matched) * 1000 / len(base), 2)
        checked = [records.get_record(n) for n in base]
        wrong = sorted(r.number for r in checked if r.values["result"] != "pass")
        assert wrong == matched
        first, last = periods.bounds(m.period)
        assert all(
            first.isoformat() <= r.values["checked_at"][:10] <= last.isoformat() for r in checked
        )

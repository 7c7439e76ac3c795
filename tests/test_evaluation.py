"""Supervision and evaluation: schemes, runs with evidence, star levels, confirmation."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from qms import clock
from qms.auth.models import Department
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.evaluation import services
from qms.evaluation.models import Evaluation, EvaluationScheme
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews import periods
from qms.trail import AuditEvent
from tests.builders_improvement import raised

#: A month wholly in the past, so that what happened in it is settled.
PERIOD = periods.period_of(clock.today() - timedelta(days=70), "monthly")
START, END = periods.bounds(PERIOD)

MANUAL = {"source": "manual", "label": "Inspection", "weight": 60, "target": 100, "zero": 0}
NCS = {
    "source": "ncs_raised",
    "label": "NCs",
    "weight": 40,
    "rule": "bands",
    "direction": "lower",
    "bands": [[0, 100], [1, 80], [3, 50]],
}


def at(day, hour=10):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def scheme(users, criteria=None, **kw):
    kw.setdefault("name", "Department evaluation")
    kw.setdefault("subject_kind", "department")
    kw.setdefault("period", "monthly")
    return services.create_scheme(
        users["admin"], criteria=[MANUAL, NCS] if criteria is None else criteria, **kw
    )


def dept(name):
    return str(db.session.scalar(select(Department.id).where(Department.name == name)))


def enter_all(users, evaluation, value=90.0, note="Spot check of the counters."):
    for result in evaluation.results:
        for row in result.criteria:
            if row.source == "manual":
                services.adjust(
                    users["approver"], evaluation, result.subject_key, row.position, value, note
                )


# -- star levels, points and totals ----------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "stars"),
    [(100, 5), (95, 5), (94.9, 4), (85, 4), (84.9, 3), (75, 3), (74.9, 2), (60, 2), (59.9, 1),
     (0, 1)],
)  # fmt: skip
def test_a_total_earns_the_star_level_of_the_highest_threshold_it_reaches(total, stars):
    assert services.stars_for(total, (95, 85, 75, 60)) == stars


@pytest.mark.parametrize(
    ("score", "stars"), [(95, 5), (94.8, 4), (85, 4), (75, 3), (74.9, 2), (60, 2), (59, 1)]
)
def test_star_levels_from_seeded_scores(users, score, stars):
    evaluation = services.run(users["approver"], scheme(users, [{**MANUAL, "weight": 100}]), PERIOD)
    enter_all(users, evaluation, score)
    services.confirm(users["approver"], evaluation)
    db.session.commit()
    assert {(r.total, r.stars) for r in services.get_evaluation(evaluation.number).results} == {
        (score, stars)
    }


def test_points_run_straight_from_the_zero_point_to_the_target_and_stop_there():
    higher = {"rule": "linear", "direction": "higher", "target": 90, "zero": 50}
    assert [services.points_for(higher, v) for v in (40, 50, 70, 90, 99)] == [0, 0, 50, 100, 100]
    lower = {"rule": "linear", "direction": "lower", "target": 0, "zero": 4}
    assert [services.points_for(lower, v) for v in (0, 1, 4, 9)] == [100, 75, 0, 0]
    assert services.points_for(higher, None) == 0


def test_a_value_scores_the_points_of_the_first_band_it_reaches():
    bands = {"rule": "bands", "direction": "lower", "bands": [[0, 100], [1, 80], [3, 50]]}
    assert [services.points_for(bands, v) for v in (0, 1, 2, 3, 4)] == [100, 80, 50, 50, 0]
    up = {"rule": "bands", "direction": "higher", "bands": [[98, 100], [90, 70]]}
    assert [services.points_for(up, v) for v in (99, 98, 91, 89.9)] == [100, 100, 70, 0]


def test_the_total_is_the_sum_of_the_points_weighted_by_the_criteria(users):
    with clock.travel(at(START + timedelta(days=3))):
        raised(users, department="Service Hall")
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    services.adjust(users["approver"], evaluation, dept("Service Hall"), 0, 70, "Counters checked.")
    hall = services.get_result(evaluation, dept("Service Hall"))
    # 70 points × 60 % + one NC (80 points) × 40 % = 42 + 32.
    assert [(c.value, c.points) for c in hall.criteria] == [(70, 70), (1, 80)]
    assert (hall.total, hall.stars) == (74.0, 2)
    office = services.get_result(evaluation, dept("Quality Office"))
    assert [c.value for c in office.criteria] == [None, 0]
    assert office.total == 40.0


# -- evidence --------------------------------------------------------------------------------


def test_the_evidence_lists_exactly_the_ncs_counted(users):
    with clock.travel(at(START - timedelta(days=2))):
        raised(users, department="Service Hall", title="Before the period")
    with clock.travel(at(START + timedelta(days=1))):
        first = raised(users, department="Service Hall", title="Wrong form")
        raised(users, department="Quality Office", title="Another department")
    with clock.travel(at(END, 20)):
        last = raised(users, department="Service Hall", title="Late stamp")
    with clock.travel(at(END + timedelta(days=1))):
        raised(users, department="Service Hall", title="After the period")
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    ncs = services.get_result(evaluation, dept("Service Hall")).criteria[1]
    assert ncs.value == 2
    assert [(e["ref"], e["endpoint"], e["args"]) for e in ncs.evidence] == [
        (first.number, "improvement.detail", {"number": first.number}),
        (last.number, "improvement.detail", {"number": last.number}),
    ]


def test_the_evidence_of_overdue_actions_is_the_actions_not_done_by_their_due_date(users):
    with clock.travel(at(START + timedelta(days=1))):
        nc = raised(users, department="Service Hall")
        kept = improvement.create_action(
            users["author"], "correction", "Withdraw the old forms", "author2",
            START + timedelta(days=5), nonconformity=nc.number,
        )  # fmt: skip
        late = improvement.create_action(
            users["author"], "correction", "Retrain window 3", "author2",
            START + timedelta(days=6), nonconformity=nc.number,
        )  # fmt: skip
        improvement.create_action(
            users["author"], "correction", "Not owned in the hall", "author",
            START + timedelta(days=6), nonconformity=nc.number,
        )  # fmt: skip
    with clock.travel(at(START + timedelta(days=4))):
        improvement.action_transition(users["author2"], kept, "done", note="Withdrawn.")
    criteria = [{"source": "actions_overdue", "weight": 100, "direction": "lower",
                 "target": 0, "zero": 5}]  # fmt: skip
    evaluation = services.run(users["approver"], scheme(users, criteria), PERIOD)
    row = services.get_result(evaluation, dept("Service Hall")).criteria[0]
    assert row.value == 1
    assert [e["ref"] for e in row.evidence] == [late.number]
    assert row.points == 80.0


# -- schemes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"criteria": [{**MANUAL, "weight": 50}, NCS]}, "add up to 90"),
        ({"criteria": []}, "at least one criterion"),
        ({"thresholds": [95, 85, 85, 60]}, "lower than the one before"),
        ({"thresholds": [95, 85, 75]}, "four star thresholds"),
        ({"thresholds": [120, 85, 75, 60]}, "from 0 to 100"),
        ({"criteria": [{**MANUAL, "weight": 100, "target": 0, "zero": 100}]}, "better than"),
        ({"criteria": [MANUAL, {**NCS, "bands": [[3, 50], [0, 100]]}]}, "best value"),
        ({"criteria": [MANUAL, {**NCS, "bands": [[0, 120]]}]}, "points from 0 to 100"),
        ({"criteria": [MANUAL, {**NCS, "label": "inspection"}]}, "given twice"),
        ({"criteria": [MANUAL, {**NCS, "source": "nothing"}]}, "not a source"),
        ({"subject_kind": "window", "criteria": [MANUAL, NCS]}, "not a source"),
        (
            {"criteria": [{"source": "records_on_time", "weight": 100, "target": 95, "zero": 50}]},
            "needs its form",
        ),
        ({"name": " "}, "name is required"),
        ({"period": "weekly"}, "how often"),
    ],
)
def test_a_scheme_is_refused_unless_valid(users, change, message):
    with pytest.raises(ValidationFailed) as refused:
        scheme(users, **{"criteria": [MANUAL, NCS], **change})
    assert message in refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EvaluationScheme)) == 0


def test_a_scheme_change_leaves_evaluations_already_run_as_they_were(users):
    s = scheme(users)
    evaluation = services.run(users["approver"], s, PERIOD)
    services.change_scheme(
        users["admin"], s, criteria=[{**MANUAL, "weight": 100}], thresholds=[90, 80, 70, 50]
    )
    db.session.commit()
    assert len(evaluation.results[0].criteria) == 2
    assert evaluation.thresholds == [95, 85, 75, 60]
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "evaluation_scheme")
    )
    assert list(events) == ["evaluation_scheme.created", "evaluation_scheme.changed"]


# -- confirmation and corrections ------------------------------------------------------------


def test_a_draft_is_confirmed_only_with_every_manual_score_entered(users):
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    with pytest.raises(ValidationFailed, match="manual scores missing"):
        services.confirm(users["approver"], evaluation)
    with pytest.raises(ValidationFailed, match="based on"):
        services.adjust(users["approver"], evaluation, dept("Service Hall"), 0, 80, " ")
    with pytest.raises(ValidationFailed, match="Only a manual"):
        services.adjust(users["approver"], evaluation, dept("Service Hall"), 1, 80, "No.")
    with pytest.raises(ValidationFailed, match="0 to 100"):
        services.adjust(users["approver"], evaluation, dept("Service Hall"), 0, 101, "Too much.")
    enter_all(users, evaluation)
    services.confirm(users["approver"], evaluation)
    assert evaluation.state == "confirmed"


def test_a_confirmed_evaluation_is_never_edited(users):
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    enter_all(users, evaluation)
    services.confirm(users["approver"], evaluation)
    db.session.commit()
    key = dept("Service Hall")
    with pytest.raises(Conflict, match="never edited"):
        services.adjust(users["approver"], evaluation, key, 0, 10, "Second thoughts.")
    with pytest.raises(Conflict, match="never edited"):
        services.discard(users["approver"], evaluation)
    with pytest.raises(Conflict, match="run a correction"):
        services.run(users["approver"], evaluation.scheme, PERIOD)
    db.session.rollback()
    again = services.get_evaluation(evaluation.number)
    assert services.get_result(again, key).criteria[0].value == 90
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 1


def test_a_correction_is_a_new_evaluation_with_a_reason_that_replaces_the_old(users):
    s = scheme(users, [{**MANUAL, "weight": 100}])
    first = services.run(users["approver"], s, PERIOD)
    enter_all(users, first, 70)
    services.confirm(users["approver"], first)
    with pytest.raises(ValidationFailed, match="reason"):
        services.correct(users["approver"], first, "  ")
    second = services.correct(users["approver"], first, "The hall's inspection was mis-typed.")
    assert (second.corrects, second.state) == (first, "draft")
    assert services.current(s, PERIOD) is first  # until the correction is confirmed
    enter_all(users, second, 96)
    services.confirm(users["approver"], second)
    db.session.commit()
    assert services.current(s, PERIOD) is second and services.is_superseded(first)
    assert {r.total for r in first.results} == {70}
    with pytest.raises(Conflict, match="already corrected"):
        services.correct(users["approver"], first, "Again.")
    hall = dept("Service Hall")
    assert [(p.period, p.total, p.stars) for p in services.history(s, hall)] == [(PERIOD, 96, 5)]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_key == second.number)
    )
    assert set(actions) == {"evaluation.run", "evaluation.adjusted", "evaluation.confirmed"}


def test_a_subjects_history_runs_period_by_period(users):
    s = scheme(users, [{**MANUAL, "weight": 100}])
    earlier = periods.period_of(START - timedelta(days=1), "monthly")
    for period, score in ((earlier, 80), (PERIOD, 90)):
        evaluation = services.run(users["approver"], s, period)
        enter_all(users, evaluation, score)
        services.confirm(users["approver"], evaluation)
    hall = dept("Service Hall")
    assert [(p.period, p.total, p.stars) for p in services.history(s, hall)] == [
        (earlier, 80, 3),
        (PERIOD, 90, 4),
    ]


def test_a_period_is_run_only_once_begun_and_as_the_scheme_is_run(users):
    s = scheme(users)
    future = periods.period_of(clock.today() + timedelta(days=40), "monthly")
    with pytest.raises(ValidationFailed, match="has not begun"):
        services.run(users["approver"], s, future)
    with pytest.raises(ValidationFailed, match="like 2026-10"):
        services.run(users["approver"], s, "2026-Q1")
    services.run(users["approver"], s, PERIOD)
    with pytest.raises(Conflict, match="already has a draft"):
        services.run(users["approver"], s, PERIOD)


def test_a_discarded_draft_leaves_only_its_trail_event(users):
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    number = evaluation.number
    services.discard(users["approver"], evaluation)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_key == number))
    assert list(actions) == ["evaluation.run", "evaluation.discarded"]


# -- permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "author", "auditor", "approver"])
def test_only_an_administrator_defines_schemes(users, who):
    with pytest.raises(PermissionDenied):
        services.create_scheme(users[who], "Mine", "department", "monthly", [MANUAL, NCS])


@pytest.mark.parametrize("who", ["staff", "author", "auditor"])
def test_only_the_quality_office_runs_adjusts_and_confirms(users, who):
    s = scheme(users)
    with pytest.raises(PermissionDenied):
        services.run(users[who], s, PERIOD)
    evaluation = services.run(users["admin"], s, PERIOD)
    with pytest.raises(PermissionDenied):
        services.adjust(users[who], evaluation, dept("Service Hall"), 0, 80, "Mine.")
    with pytest.raises(PermissionDenied):
        services.confirm(users[who], evaluation)
    with pytest.raises(PermissionDenied):
        services.discard(users[who], evaluation)


# -- pages -----------------------------------------------------------------------------------


def _scheme_form(**rows):
    data = {
        "name": "Hall evaluation",
        "subject_kind": "department",
        "period": "monthly",
        "five": "95",
        "four": "85",
        "three": "75",
        "two": "60",
        "criteria-0-source": "manual",
        "criteria-0-title": "Inspection",
        "criteria-0-weight": "60",
        "criteria-0-rule": "linear",
        "criteria-0-direction": "higher",
        "criteria-0-target": "100",
        "criteria-0-zero": "0",
        "criteria-1-source": "ncs_raised",
        "criteria-1-title": "NCs",
        "criteria-1-weight": "40",
        "criteria-1-rule": "bands",
        "criteria-1-direction": "lower",
        "criteria-1-bands": "0: 100, 1: 80, 3: 50",
    }
    data.update(rows)
    return data


def test_an_administrator_defines_a_scheme_on_its_page(client, auth, users):
    auth.login("admin")
    response = client.post("/evaluation/schemes", data=_scheme_form())
    assert response.status_code == 302
    s = services.list_schemes()[0]
    assert [(c.source, c.weight, c.bands) for c in s.criteria] == [
        ("manual", 60, []),
        ("ncs_raised", 40, [[0, 100], [1, 80], [3, 50]]),
    ]
    page = client.get(response.location).get_data(as_text=True)
    assert "Hall evaluation" in page and "≤ 0 → 100" in page


def test_a_refused_scheme_keeps_what_was_typed_and_says_why(client, auth, users):
    auth.login("admin")
    response = client.post("/evaluation/schemes", data=_scheme_form(**{"criteria-0-weight": "50"}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The weights add up to 90" in page
    assert 'value="Hall evaluation"' in page and "0: 100, 1: 80, 3: 50" in page
    response = client.post(
        "/evaluation/schemes", data=_scheme_form(**{"criteria-1-bands": "zero: all"})
    )
    assert response.status_code == 422
    assert "bound: points pairs" in response.get_data(as_text=True)
    assert services.list_schemes() == []


@pytest.mark.parametrize("who", ["staff", "approver"])
def test_only_an_administrator_opens_or_posts_the_scheme_form(client, auth, users, who):
    auth.login(who)
    assert client.get("/evaluation/schemes/new").status_code == 403
    assert client.post("/evaluation/schemes", data=_scheme_form()).status_code == 403
    assert services.list_schemes() == []


def test_an_evaluation_is_run_scored_and_confirmed_on_its_pages(client, auth, users):
    with clock.travel(at(START + timedelta(days=2))):
        nc = raised(users, department="Service Hall")
    s = scheme(users)
    db.session.commit()
    auth.login("approver")
    response = client.post("/evaluation/run", data={"scheme": str(s.id), "period": PERIOD})
    assert response.status_code == 302
    number = response.location.rsplit("/", 1)[-1]
    hall = dept("Service Hall")
    response = client.post(
        f"/evaluation/{number}/scores",
        data={f"value_{hall}_0": "abc", f"note_{hall}_0": "Typed."},
    )
    assert response.status_code == 422
    assert 'value="Typed."' in response.get_data(as_text=True)
    form = {}
    for key in (dept(n) for n in ("Service Hall", "Quality Office", "Business Approval Department",
                                  "Information Technology Department")):  # fmt: skip
        form[f"value_{key}_0"], form[f"note_{key}_0"] = "95", "Counters checked."
    assert client.post(f"/evaluation/{number}/scores", data=form).status_code == 302
    assert client.post(f"/evaluation/{number}/confirm").status_code == 302
    page = client.get(f"/evaluation/{number}").get_data(as_text=True)
    # The hall: 95 × 60 % + one NC (80) × 40 % = 89: four stars; the others 97: five.
    assert "★★★★☆" in page and "★★★★★" in page and 'style="width: 89.0%"' in page
    subject = client.get(f"/evaluation/{number}/subjects/{hall}").get_data(as_text=True)
    assert f'href="/improvement/{nc.number}"' in subject
    chart = subject.split('id="history"', 1)[1].split("</section>", 1)[0]
    assert (
        "<svg" in chart
        and "<script" not in chart
        and "http" not in chart.replace("http://www.w3.org", "")
    )
    auth.logout()
    auth.login("staff")
    assert client.get(f"/evaluation/{number}/subjects/{hall}").status_code == 200
    assert client.post(f"/evaluation/{number}/correct", data={"reason": "x"}).status_code == 403


# -- API -------------------------------------------------------------------------------------


def test_the_api_lists_schemes_and_evaluations_and_shows_the_evidence(client, users):
    from qms.auth.services import create_token

    with clock.travel(at(START + timedelta(days=2))):
        nc = raised(users, department="Service Hall")
    s = scheme(users)
    evaluation = services.run(users["approver"], s, PERIOD)
    enter_all(users, evaluation, 95)
    services.confirm(users["approver"], evaluation)
    token = create_token(users["staff"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    schemes = client.get("/api/v1/evaluations/schemes", headers=headers).get_json()["items"]
    assert [(x["name"], x["thresholds"]) for x in schemes] == [
        ("Department evaluation", [95, 85, 75, 60])
    ]
    assert [c["bands"] for c in schemes[0]["criteria"]] == [[], [[0, 100], [1, 80], [3, 50]]]
    listed = client.get(
        f"/api/v1/evaluations?scheme={s.id}&state=confirmed", headers=headers
    ).get_json()
    assert [e["number"] for e in listed["items"]] == [evaluation.number]
    assert listed["items"][0]["superseded"] is False
    detail = client.get(f"/api/v1/evaluations/{evaluation.number}", headers=headers).get_json()
    hall = next(r for r in detail["results"] if r["subject_key"] == dept("Service Hall"))
    assert (hall["total"], hall["stars"]) == (89.0, 4)
    assert hall["criteria"][1]["evidence"] == [
        {
            "kind": "nc",
            "ref": nc.number,
            "label": nc.title,
            "url": f"/improvement/{nc.number}",
        }
    ]
    assert client.get("/api/v1/evaluations/EV-9999", headers=headers).status_code == 404
    assert client.get("/api/v1/evaluations").status_code == 401
    refused = client.get("/api/v1/evaluations?state=final", headers=headers)
    assert refused.status_code == 422


# -- demo ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "name"), [("zh_Hans", "部门季度监督评价"), ("zh_Hant", "部門季度監督評價")]
)
def test_the_demo_scores_the_departments_quarter_by_quarter_over_its_year(users, lang, name):
    from qms.demo import HISTORY_DAYS
    from qms.demo import evaluation as demo_evaluation
    from qms.demo.activity import Demo

    today = clock.today()
    people = {"mrep": users["approver"], "admin": users["admin"]}
    demo_evaluation.load(Demo(lang, today, people, {}))
    (s,) = services.list_schemes()
    assert (s.name, s.period) == (name, "quarterly")
    runs = list(db.session.scalars(services.list_evaluations(scheme_id=s.id)))
    quarters = sorted({e.period for e in runs})
    assert len(quarters) >= 3
    assert all(periods.bounds(q)[0] >= today - timedelta(days=HISTORY_DAYS) for q in quarters)
    corrections = [e for e in runs if e.corrects is not None]
    assert len(corrections) == 1 and corrections[0].reason
    hall = dept("Service Hall")
    history = services.history(s, hall)
    assert len(history) >= len(quarters) - 1
    assert all(1 <= p.stars <= 5 for p in history)


def test_the_evidence_of_audit_findings_is_the_nc_findings_of_the_departments_audits(users):
    from qms.audits import services as audits
    from tests.builders_audits import procedure, started

    with clock.travel(at(START + timedelta(days=1))):
        procedure(users)
        hall = started(users, planned_start=START + timedelta(days=2),
                       planned_end=START + timedelta(days=3))  # fmt: skip
        first, *rest = hall.questions
        audits.record_finding(hall.lead_auditor, hall, "minor_nc", "Old form at window 2.",
                              question=first, responsible="author", due_date=END)  # fmt: skip
        for question in rest:
            audits.record_finding(hall.lead_auditor, hall, "observation", "Queue long.",
                                  question=question)  # fmt: skip
    criteria = [{"source": "audit_findings", "weight": 100, "rule": "bands",
                 "direction": "lower", "bands": [[0, 100], [1, 80]]}]  # fmt: skip
    evaluation = services.run(users["approver"], scheme(users, criteria), PERIOD)
    row = services.get_result(evaluation, dept("Service Hall")).criteria[0]
    assert (row.value, row.points) == (1, 80)
    assert [(e["ref"], e["args"]) for e in row.evidence] == [
        (f"{hall.ref} #{first.seq}", {"ref": hall.ref})
    ]
    office = services.get_result(evaluation, dept("Quality Office")).criteria[0]
    assert (office.value, office.evidence) == (0, [])


def test_records_on_time_are_the_share_of_the_departments_records_with_the_on_time_value(
    users,
):
    from tests.builders_records import form_in_force, submit

    fields = [
        {"key": "title", "label": "Title", "type": "text", "required": True},
        {"key": "result", "label": "Result", "type": "radio", "options": ["yes", "no"]},
    ]
    with clock.travel(at(START + timedelta(days=1))):
        form_in_force(users, fields=fields)
        on_time = [submit(users, result="yes") for _n in range(3)]
        late = submit(users, result="no")
        submit(users, username="staff2", result="no")  # the Quality Office's
    criteria = [{"source": "records_on_time", "weight": 100, "target": 100, "zero": 50,
                 "params": {"form": "RF-01", "field": "result", "value": "yes"}}]  # fmt: skip
    evaluation = services.run(users["approver"], scheme(users, criteria), PERIOD)
    row = services.get_result(evaluation, dept("Service Hall")).criteria[0]
    assert (row.value, row.points, row.detail) == (75.0, 50.0, "3 of 4 on time")
    assert sorted((e["ref"], e["label"]) for e in row.evidence) == sorted(
        [(r.number, "on time") for r in on_time] + [(late.number, "late")]
    )
    nothing = services.get_result(evaluation, dept("Business Approval Department")).criteria[0]
    assert (nothing.value, nothing.points, nothing.evidence) == (None, 0, [])


# -- windows and sources from other domains ----------------------------------------------------


def test_a_window_scheme_scores_every_active_window_with_a_source_another_domain_registers(
    users, monkeypatch
):
    from qms.evaluation import sources
    from qms.standards.models import ServiceWindow

    db.session.add_all(
        [
            ServiceWindow(code="W01", name="Residence permits", active=True),
            ServiceWindow(code="W02", name="Business licences", active=True),
            ServiceWindow(code="W09", name="Closed window", active=False),
        ]
    )
    db.session.commit()
    seen = []

    def ratings(subject, start, end, params):
        seen.append((subject.key, start, end))
        value = {"W01": 4.8, "W02": 4.1}[subject.key]
        return sources.Measure(value, [sources.Evidence("rating", f"R-{subject.key}", "5 ★")])

    monkeypatch.setitem(sources.SOURCES, "ratings", None)
    sources.register(sources.Source("ratings", "Citizens' ratings", ("window",), ratings))
    s = scheme(
        users,
        [
            {"source": "ratings", "weight": 70, "target": 5, "zero": 3},
            {**MANUAL, "weight": 30},
        ],
        subject_kind="window",
    )
    evaluation = services.run(users["approver"], s, PERIOD)
    assert sorted(seen) == [("W01", START, END), ("W02", START, END)]
    enter_all(users, evaluation, 100)
    w01, w02 = (services.get_result(evaluation, key) for key in ("W01", "W02"))
    # 90 points × 70 % + 100 × 30 % = 93; 55 × 70 % + 30 = 68.5.
    assert (w01.subject_name, w01.total, w01.stars) == ("W01 Residence permits", 93.0, 4)
    assert (w02.total, w02.stars) == (68.5, 2)
    assert w01.criteria[0].evidence == [
        {"kind": "rating", "ref": "R-W01", "label": "5 ★", "endpoint": None, "args": {}}
    ]


def test_lists_mark_the_corrected_evaluations_in_one_query(users):
    s = scheme(users, [{**MANUAL, "weight": 100}])
    first = services.run(users["approver"], s, PERIOD)
    enter_all(users, first)
    services.confirm(users["approver"], first)
    second = services.correct(users["approver"], first, "Mis-typed.")
    assert services.superseded_ids([first, second]) == set()  # the correction is a draft
    enter_all(users, second)
    services.confirm(users["approver"], second)
    assert services.superseded_ids([first, second]) == {first.id}
    assert [services.is_superseded(e) for e in (first, second)] == [True, False]


def test_everyone_reads_the_results_but_only_the_office_sees_the_forms(client, auth, users):
    s = scheme(users)
    evaluation = services.run(users["approver"], s, PERIOD)
    db.session.commit()
    pages = ("/evaluation/", f"/evaluation/schemes/{s.id}", f"/evaluation/{evaluation.number}")
    for who, sees in (("staff", False), ("approver", True), ("admin", True)):
        auth.login(who)
        texts = [client.get(path) for path in pages]
        assert [t.status_code for t in texts] == [200, 200, 200]
        index, scheme_page, detail = (t.get_data(as_text=True) for t in texts)
        assert ("Run an evaluation" in index) is sees
        assert ("Save the scores" in detail) is sees
        assert ("Change the scheme" in scheme_page) is (who == "admin")
        assert evaluation.number in index and "Department evaluation" in scheme_page
        auth.logout()
    auth.login("admin")
    assert client.get("/evaluation/schemes/new?kind=window").status_code == 200


def test_no_code_path_can_change_a_confirmed_evaluation_in_the_database(users):
    from qms.evaluation.models import ConfirmedEvaluationChanged

    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    enter_all(users, evaluation)
    services.confirm(users["approver"], evaluation)
    db.session.commit()
    result = evaluation.results[0]
    changes = (
        lambda: setattr(result, "total", 100.0),
        lambda: setattr(result.criteria[0], "value", 0.0),
        lambda: setattr(evaluation, "state", "draft"),
        lambda: db.session.delete(evaluation),
    )
    for change in changes:
        change()
        with pytest.raises(ConfirmedEvaluationChanged):
            db.session.flush()
        db.session.rollback()
    again = services.get_evaluation(evaluation.number)
    assert again.state == "confirmed" and again.results[0].total == result.total


def test_the_office_finds_the_drafts_to_confirm_on_its_home_page(client, auth, users):
    evaluation = services.run(users["approver"], scheme(users), PERIOD)
    db.session.commit()
    auth.login("approver")
    assert f"/evaluation/{evaluation.number}" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("staff")
    assert "Evaluations to confirm" not in client.get("/").get_data(as_text=True)


def test_the_change_form_offers_a_row_for_every_criterion_of_a_long_scheme(client, auth, users):
    criteria = [{**MANUAL, "label": f"Check {n}", "weight": 10} for n in range(10)]
    s = scheme(users, criteria)
    db.session.commit()
    auth.login("admin")
    page = client.get(f"/evaluation/schemes/{s.id}").get_data(as_text=True)
    assert 'name="criteria-9-title"' in page and 'value="Check 9"' in page

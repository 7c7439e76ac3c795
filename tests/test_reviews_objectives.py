"""Quality objectives: periods, measurements, CSV import, API, surveys and charts."""

import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.reviews import charts, feedback, objectives, periods
from qms.reviews.models import Measurement


def make(users, name="Certificate error rate", frequency="monthly", **kw):
    kw.setdefault("unit", "‰")
    kw.setdefault("target", 2)
    kw.setdefault("direction", "lower")
    return objectives.create_objective(users["approver"], name, frequency=frequency, **kw)


# -- periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "frequency"),
    [
        ("2026-10", "monthly"),
        ("2026-Q3", "quarterly"),
        ("2026-q1", "quarterly"),
        ("2026", "yearly"),
    ],
)
def test_period_of_the_right_frequency_is_accepted(ctx, period, frequency):
    assert periods.check(period, frequency) == period.upper()


@pytest.mark.parametrize(
    ("period", "frequency"),
    [
        ("2026-Q3", "monthly"),
        ("2026", "monthly"),
        ("2026-10", "quarterly"),
        ("2026-13", "monthly"),
        ("2026-Q5", "quarterly"),
        ("26", "yearly"),
        ("", "yearly"),
    ],
)
def test_period_of_another_frequency_or_malformed_is_refused(ctx, period, frequency):
    with pytest.raises(ValidationFailed) as exc:
        periods.check(period, frequency)
    assert exc.value.field == "period"
    assert periods.EXAMPLES[frequency] in exc.value.message


def test_period_bounds_cover_the_whole_period(ctx):
    from datetime import date

    assert periods.bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert periods.bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert periods.bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))


# -- objectives and measurements -----------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "author", "auditor"])
def test_only_the_quality_office_sets_objectives(users, role):
    with pytest.raises(PermissionDenied):
        objectives.create_objective(users[role], "X", "%", 95, "higher", "monthly")


@pytest.mark.parametrize("role", ["approver", "admin"])
def test_quality_office_and_admin_set_objectives(users, role):
    objective = objectives.create_objective(users[role], "On time", "%", 95, "higher", "monthly")
    assert objective.id and objective.target == 95


def test_objective_name_is_unique(users):
    make(users)
    with pytest.raises(ValidationFailed) as exc:
        make(users)
    assert exc.value.field == "name"


def test_measurement_period_must_match_the_frequency(users):
    objective = make(users, frequency="quarterly")
    with pytest.raises(ValidationFailed) as exc:
        objectives.record_measurement(users["approver"], objective, "2026-10", 1.5)
    assert exc.value.field == "period"
    assert db.session.scalar(db.select(db.func.count(Measurement.id))) == 0


def test_meeting_the_target_depends_on_the_direction(users):
    lower = make(users, "Errors", target=2, direction="lower")
    higher = make(users, "Satisfaction", unit="%", target=95, direction="higher")
    assert objectives.record_measurement(users["approver"], lower, "2026-09", 1.8).meets_target
    assert not objectives.record_measurement(users["approver"], lower, "2026-10", 2.4).meets_target
    assert objectives.record_measurement(users["approver"], higher, "2026-10", 95).meets_target
    assert not objectives.record_measurement(
        users["approver"], higher, "2026-11", 94.9
    ).meets_target


def test_owner_enters_measurements_and_other_staff_may_not(users):
    objective = make(users, owner="staff2")
    objectives.record_measurement(users["staff2"], objective, "2026-10", 1.0)
    with pytest.raises(PermissionDenied):
        objectives.record_measurement(users["staff"], objective, "2026-11", 1.0)


def test_recording_a_period_again_replaces_its_value_on_the_trail(users):
    from qms import trail

    objective = make(users)
    objectives.record_measurement(users["approver"], objective, "2026-10", 3.0)
    objectives.record_measurement(users["approver"], objective, "2026-10", 1.0, "corrected")
    assert [(m.period, m.value) for m in objective.measurements] == [("2026-10", 1.0)]
    events = trail.events_for("objective", str(objective.id))
    assert events[-1].before["value"] == 3.0 and events[-1].after["value"] == 1.0


def test_value_must_be_a_number(users):
    objective = make(users)
    with pytest.raises(ValidationFailed) as exc:
        objectives.record_measurement(users["approver"], objective, "2026-10", "lots")
    assert exc.value.field == "value"


# -- CSV import --------------------------------------------------------------------------


def test_csv_import_with_a_bad_row_imports_nothing_and_names_the_row(users):
    objective = make(users)
    data = "period,value,note\n2026-07,1.2,\n2026-08,abc,typo\n2026-Q3,1.0,\n2026-09,0.9,ok\n"
    with pytest.raises(ValidationFailed) as exc:
        objectives.import_csv(users["approver"], objective, data.encode())
    lines = exc.value.detail["lines"]
    assert len(lines) == 2
    assert lines[0].startswith("Line 3:") and "number" in lines[0]
    assert lines[1].startswith("Line 4:") and "2026-10" in lines[1]
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Measurement.id))) == 0


def test_csv_import_refuses_a_period_twice(users):
    objective = make(users)
    with pytest.raises(ValidationFailed) as exc:
        objectives.import_csv(users["approver"], objective, "period,value\n2026-01,1\n2026-01,2\n")
    assert exc.value.detail["lines"] == ["Line 3: period 2026-01 is already on line 2"]


def test_csv_import_imports_every_row(users):
    objective = make(users)
    objectives.record_measurement(users["approver"], objective, "2026-01", 5)
    result = objectives.import_csv(
        users["approver"], objective, "\ufeffPeriod,Value,Note\n2026-01,1.5,x\n2026-02,2.5,\n"
    )
    assert (result.created, result.replaced) == (1, 1)
    assert [(m.period, m.value) for m in objective.measurements] == [
        ("2026-01", 1.5),
        ("2026-02", 2.5),
    ]


def test_csv_import_page_shows_the_bad_line_and_keeps_the_data(client, auth, users):
    import io

    objective = make(users)
    auth.login("approver")
    response = client.post(
        f"/objectives/{objective.id}/import",
        data={"file": (io.BytesIO(b"period,value\n2026-01,1\n2026-02,x\n"), "m.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Line 3:" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Measurement.id))) == 0


# -- computed objectives -----------------------------------------------------------------


def test_surveys_feed_the_satisfaction_objective(users):
    objective = objectives.create_objective(
        users["approver"],
        "Customer satisfaction",
        "%",
        95,
        "higher",
        "quarterly",
        source="surveys",
    )
    feedback.record_survey(users["approver"], "2026-07", "Business licences", 100, 90)
    feedback.record_survey(users["approver"], "2026-08", "Business licences", 300, 98)
    db.session.refresh(objective)
    [m] = objective.measurements
    assert (m.period, m.value, m.origin) == ("2026-Q3", 96.0, "surveys")
    assert m.meets_target


def test_a_survey_service_name_longer_than_its_column_is_refused(users):
    with pytest.raises(ValidationFailed) as exc:
        feedback.record_survey(users["approver"], "2026-07", "办" * 201, 100, 90)
    assert exc.value.field == "service"
    assert feedback.list_surveys() == []


def test_survey_fed_objective_refuses_typed_values(users):
    objective = objectives.create_objective(
        users["approver"], "Customer satisfaction", "%", 95, "higher", "yearly", source="surveys"
    )
    with pytest.raises(ValidationFailed):
        objectives.record_measurement(users["approver"], objective, "2026", 99)


def test_acknowledgement_coverage_objective_is_computed(users):
    from qms.documents import services as documents
    from tests.builders import effective

    doc = effective(users, "QP-07", distribution=["Service Hall"])
    documents.acknowledge(users["staff"], doc)
    acked, expected = documents.acknowledgement_counts(documents.effective_revision(doc))
    objective = objectives.create_objective(
        users["approver"], "Procedures read", "%", 100, "higher", "yearly", source="ack_coverage"
    )
    m = objectives.refresh(objective, "2026")
    assert m.value == round(100 * acked / expected, 1)


# -- API ---------------------------------------------------------------------------------


@pytest.fixture
def token(users):
    from qms.auth.services import create_token

    def make_token(username="approver"):
        value = create_token(users[username])
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}

    return make_token


def test_api_creates_objective_records_measurements_and_judges_them(client, token):
    headers = token()
    response = client.post(
        "/api/v1/objectives",
        json={
            "name": "On-time completion",
            "unit": "%",
            "target": 98,
            "direction": "higher",
            "frequency": "monthly",
        },
        headers=headers,
    )
    assert response.status_code == 201
    ident = response.json["id"]
    for period, value in (("2026-09", 99.1), ("2026-10", 97.5)):
        response = client.post(
            f"/api/v1/objectives/{ident}/measurements",
            json={"period": period, "value": value},
            headers=headers,
        )
        assert response.status_code == 201
    body = client.get(f"/api/v1/objectives/{ident}", headers=headers).json
    assert [(m["period"], m["value"], m["meets_target"]) for m in body["measurements"]] == [
        ("2026-09", 99.1, True),
        ("2026-10", 97.5, False),
    ]


def test_api_refuses_a_period_of_another_frequency(client, token, users):
    objective = make(users, frequency="yearly")
    response = client.post(
        f"/api/v1/objectives/{objective.id}/measurements",
        json={"period": "2026-Q3", "value": 1},
        headers=token(),
    )
    assert response.status_code == 422
    assert "period" in response.json["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "target": 1, "direction": "up", "frequency": "monthly"}, "direction"),
        ({"name": "X", "target": 1, "direction": "higher", "frequency": "weekly"}, "frequency"),
        ({"name": "X", "target": "a lot", "direction": "higher", "frequency": "monthly"}, "target"),
    ],
)
def test_api_bad_objective_is_refused_by_field(client, token, payload, field):
    response = client.post("/api/v1/objectives", json=payload, headers=token())
    assert response.status_code == 422
    assert field in response.json["detail"]


def test_api_staff_may_not_set_objectives(client, token):
    response = client.post(
        "/api/v1/objectives",
        json={"name": "X", "target": 1, "direction": "higher", "frequency": "monthly"},
        headers=token("staff"),
    )
    assert response.status_code == 403


def test_api_unknown_objective_is_404(client, token):
    assert client.get("/api/v1/objectives/999", headers=token()).status_code == 404


# -- charts ------------------------------------------------------------------------------

EXTERNAL = re.compile(
    r"""(?:href|src)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|<script|@import"""
)


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "zh_Hant"])
def test_chart_renders_offline_in_each_language(users, lang):
    objective = make(users, name="证照差错率", unit="‰")
    for period, value in (("2026-08", 1.5), ("2026-09", 2.6), ("2026-10", 1.9)):
        objectives.record_measurement(users["approver"], objective, period, value)
    with force_locale(lang):
        svg = str(charts.objective_chart(objective))
        expected = [
            _("%(name)s over time", name="证照差错率"),
            _("Period"),
            _("Measured"),
            _("Target (%(direction)s)", direction=_("lower is better")),
        ]
    assert svg.startswith("<svg")
    for text in expected:
        assert text in svg
    assert "2026-09" in svg
    assert "Noto Sans CJK SC" in svg and "Microsoft JhengHei" in svg
    assert not EXTERNAL.search(svg), EXTERNAL.search(svg)


def test_objective_page_shows_chart_and_offers_nc_when_off_target(client, auth, users):
    objective = make(users)
    objectives.record_measurement(users["approver"], objective, "2026-10", 3.5)
    auth.login("approver")
    page = client.get(f"/objectives/{objective.id}").get_data(as_text=True)
    assert "<svg" in page and "2026-10" in page
    if "improvement.new" in client.application.view_functions:
        assert "/improvement/new?source=process_monitoring" in page
        assert "/improvement/actions/new" in page


def test_statuses_carry_the_last_twelve_measurements_loaded_in_one_query(users):
    item = make(users)
    other = make(users, name="Complaint rate")
    for month in range(1, 13):
        objectives.record_measurement(users["approver"], item, f"2025-{month:02d}", month)
    for month in range(1, 4):
        objectives.record_measurement(users["approver"], item, f"2026-{month:02d}", 20 + month)
    db.session.commit()
    db.session.expire_all()
    found = {s.objective.name: s for s in objectives.statuses()}
    recent = found["Certificate error rate"].recent
    assert [m.period for m in recent] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert found["Certificate error rate"].latest.value == 23
    assert found["Complaint rate"].latest is None and found["Complaint rate"].recent == []
    assert other.id in objectives.recent_measurements([other.id])


def test_a_sparkline_is_drawn_once_for_the_same_values(users):
    item = make(users)
    objectives.record_measurement(users["approver"], item, "2026-01", 1.5)
    db.session.commit()
    charts._sparkline.cache_clear()
    first = charts.sparkline(item, objectives.statuses([item])[0].recent)
    again = charts.sparkline(item, objectives.statuses([item])[0].recent)
    assert first == again and charts._sparkline.cache_info().hits == 1
    objectives.record_measurement(users["approver"], item, "2026-02", 3)
    assert charts.sparkline(item, objectives.statuses([item])[0].recent) != first

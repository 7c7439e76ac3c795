"""Citizens' ratings (好差评): receiving them once, the rectification of every poor one, a
repeat escalating to one NC, the steps and who takes them, the figures and the objective
they feed, the import of CSV and XLSX files and the pages."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from qms import clock, trail
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.ratings import figures, imports, services
from qms.ratings.models import Rating, Rectification
from qms.reviews import objectives
from tests.builders_ratings import moment, rating, seed_catalogue

TODAY = clock.today()


@pytest.fixture
def catalogue(users):
    return seed_catalogue()


def receive(users, *rows, by="approver"):
    receipt = services.receive(users[by], list(enumerate(rows, start=1)))
    db.session.commit()
    return receipt


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- receiving -----------------------------------------------------------------------------


def test_a_rating_is_stored_with_its_indicator_scores_and_a_trail_event(users, catalogue):
    receipt = receive(users, rating(level=4, attitude=5, efficiency="4", comment="Quick"))
    [stored] = receipt.created
    assert (stored.level, stored.attitude, stored.efficiency, stored.quality) == (4, 5, 4, None)
    assert stored.department.name == "Service Hall"
    assert stored.rectification is None
    [event] = trail.events_for("rating", "C-0001")
    assert event.action == "rating.received"


def test_a_level_is_read_from_its_chinese_name(users, catalogue):
    [stored] = receive(users, rating(level="基本满意", channel="短信")).created
    assert (stored.level, stored.channel) == (3, "sms")


def test_resending_the_same_ratings_changes_nothing_and_says_so(users, catalogue):
    rows = [rating("C-1", 5), rating("C-2", 1)]
    first = receive(users, *rows)
    events = len(trail.events_for("rating", "C-1"))
    again = receive(users, *rows)
    assert (len(first.created), len(again.created)) == (2, 0)
    assert again.unchanged == ["C-1", "C-2"]
    assert count(Rating) == 2 and count(Rectification) == 1
    assert len(trail.events_for("rating", "C-1")) == events


def test_a_changed_resend_is_refused_and_the_rating_is_kept_as_received(users, catalogue):
    receive(users, rating("C-1", 5))
    with pytest.raises(Conflict) as refused:
        services.receive(users["approver"], [(1, rating("C-9", 4)), (2, rating("C-1", 1))])
    db.session.rollback()
    assert "C-1" in refused.value.detail["rows"][0]
    assert "Row 2" in refused.value.detail["rows"][0]
    assert services.get_rating("C-1").level == 5
    assert count(Rating) == 1  # C-9 of the same batch was not stored either


def test_a_batch_with_one_bad_rating_stores_nothing(users, catalogue):
    with pytest.raises(ValidationFailed) as refused:
        services.receive(
            users["approver"], [(1, rating("C-1", 1)), (2, rating("C-2", 7, window="W99"))]
        )
    db.session.rollback()
    assert refused.value.detail["rows"] == ["Row 2: There is no service window W99."]
    assert count(Rating) == 0 and count(Rectification) == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"level": 0}, "level"),
        ({"item": "SI-404"}, "item"),
        ({"channel": "pigeon"}, "channel"),
        ({"rated_at": "yesterday"}, "rated_at"),
        ({"attitude": 9}, "attitude"),
        ({"case_number": " "}, "case_number"),
    ],
)
def test_a_bad_rating_is_refused_with_its_row(users, catalogue, change, field):
    with pytest.raises(ValidationFailed) as refused:
        services.receive(users["approver"], [(3, {**rating(), **change})])
    assert refused.value.detail["rows"][0].startswith("Row 3: ")


def test_a_rating_dated_in_the_future_is_refused(users, catalogue):
    future = (clock.now() + timedelta(days=2)).isoformat()
    with pytest.raises(ValidationFailed):
        services.receive(users["approver"], [(1, rating(rated_at=future))])


def test_only_the_quality_office_receives_ratings(users, catalogue):
    with pytest.raises(PermissionDenied):
        services.receive(users["staff"], [(1, rating())])


# -- rectification -----------------------------------------------------------------------------


def test_a_poor_rating_opens_a_rectification_due_in_five_days(users, catalogue):
    [stored] = receive(users, rating(level=2, comment="Waited an hour")).created
    rect = stored.rectification
    assert rect.state == "open" and rect.number.startswith("RC-")
    assert rect.due_date == TODAY + timedelta(days=5)
    assert rect.department.name == "Service Hall"
    assert [e.action for e in trail.events_for("rectification", rect.number)] == [
        "rectification.opened"
    ]


def test_the_deadline_may_count_working_days(app, users, catalogue):
    app.config["QMS_RECTIFICATION_DAY_KIND"] = "working"
    app.config["QMS_RECTIFICATION_DAYS"] = 3
    friday = TODAY - timedelta(days=(TODAY.weekday() - 4) % 7)
    assert services.due_from(friday) == friday + timedelta(days=5)  # Mon, Tue, Wed
    [stored] = receive(users, rating(level=1)).created
    assert stored.rectification.due_date == services.due_from(TODAY, 3, "working")


def test_a_satisfactory_rating_opens_no_rectification(users, catalogue):
    receive(users, rating("C-1", 3), rating("C-2", 4))
    assert count(Rectification) == 0


def test_a_repeat_on_the_same_item_and_window_opens_one_nc_on_both(users, catalogue):
    first = receive(users, rating("C-1", 2, days_ago=30)).created[0].rectification
    assert first.nc_number is None
    second = receive(users, rating("C-2", 1, days_ago=2)).created[0].rectification
    assert second.nc_number is not None
    db.session.refresh(first)
    assert first.nc_number == second.nc_number
    nc = improvement.get_nc(second.nc_number)
    assert nc.source == "customer_complaint"
    assert "C-1" in nc.description and "C-2" in nc.description
    assert nc.department.name == "Service Hall"
    third = receive(users, rating("C-3", 2, days_ago=1)).created[0].rectification
    assert third.nc_number == nc.number
    assert db.session.scalar(select(func.count()).select_from(type(nc))) == 1


def test_no_repeat_across_windows_or_beyond_the_recurrence_window(users, catalogue):
    receive(users, rating("C-1", 2, days_ago=120))
    receive(users, rating("C-2", 2, window="W02", days_ago=5))
    receive(users, rating("C-3", 2, item="SI-002", days_ago=3))
    receive(users, rating("C-4", 2, days_ago=1))
    numbers = db.session.scalars(select(Rectification.nc_number)).all()
    assert numbers == [None, None, None, None]


def test_an_older_poor_rating_sent_late_is_a_repeat_too(users, catalogue):
    later = receive(users, rating("C-2", 1, days_ago=2)).created[0].rectification
    earlier = receive(users, rating("C-1", 2, days_ago=40)).created[0].rectification
    db.session.refresh(later)
    assert earlier.nc_number is not None and later.nc_number == earlier.nc_number


def test_a_repeat_within_one_batch_escalates_too(users, catalogue):
    receipt = receive(users, rating("C-2", 1, days_ago=1), rating("C-1", 2, days_ago=3))
    assert {r.rectification.nc_number for r in receipt.created} != {None}
    assert len({r.rectification.nc_number for r in receipt.created}) == 1


def open_one(users, **kw):
    return receive(users, rating(level=1, **kw)).created[0].rectification


def test_the_loop_runs_open_rectified_followed_up_closed(users, catalogue):
    rect = open_one(users)
    services.rectify(users["staff"], rect, "The clerk was away.", "Cover agreed for breaks.")
    db.session.commit()
    assert rect.state == "rectified" and services.on_time(rect) is True
    services.follow_up(users["approver"], rect, TODAY, "phone", "satisfied", "Content now.")
    db.session.commit()
    services.close(users["approver"], rect)
    db.session.commit()
    assert rect.state == "closed"
    actions = [e.action for e in trail.events_for("rectification", rect.number)]
    assert actions == [
        "rectification.opened",
        "rectification.rectified",
        "rectification.followed_up",
        "rectification.closed",
    ]


def test_steps_out_of_order_are_refused(users, catalogue):
    rect = open_one(users)
    with pytest.raises(Conflict):
        services.follow_up(users["approver"], rect, TODAY, "phone", "satisfied")
    with pytest.raises(Conflict):
        services.close(users["approver"], rect)
    assert rect.state == "open"


@pytest.mark.parametrize("who", ["staff2", "author", "auditor"])
def test_only_the_responsible_department_or_the_office_puts_it_right(users, catalogue, who):
    rect = open_one(users)
    with pytest.raises(PermissionDenied):
        services.rectify(users[who], rect, "Found", "Fixed")
    db.session.rollback()
    assert services.get_rectification(rect.number).state == "open"
    assert len(trail.events_for("rectification", rect.number)) == 1


def test_the_department_rated_does_not_follow_up_its_own_rectification(users, catalogue):
    rect = open_one(users)
    services.rectify(users["staff"], rect, "Found", "Fixed")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.follow_up(users["staff"], rect, TODAY, "phone", "satisfied")
    with pytest.raises(PermissionDenied):
        services.follow_up(users["author2"], rect, TODAY, "phone", "satisfied")


@pytest.mark.parametrize("step", ["close", "reopen"])
def test_only_the_quality_office_closes_or_sends_back(users, catalogue, step):
    rect = open_one(users)
    services.rectify(users["staff"], rect, "Found", "Fixed")
    services.follow_up(users["approver"], rect, TODAY, "phone", "satisfied")
    db.session.commit()
    for who in ("staff", "author2", "auditor"):
        with pytest.raises(PermissionDenied):
            services.take_step(users[who], rect, step, reason="Again")
    assert rect.state == "followed_up"
    with pytest.raises(ValidationFailed):
        services.reopen(users["approver"], rect, " ")


def test_a_citizen_not_satisfied_sends_it_back_instead_of_closing(users, catalogue):
    rect = open_one(users)
    services.rectify(users["approver"], rect, "Found", "Fixed")
    services.follow_up(users["approver"], rect, TODAY, "visit", "not_satisfied")
    db.session.commit()
    with pytest.raises(Conflict):
        services.close(users["approver"], rect)
    services.reopen(users["approver"], rect, "Still unhappy with the wait")
    db.session.commit()
    assert rect.state == "open" and rect.due_date == TODAY + timedelta(days=5)


def test_a_finding_and_fix_are_required(users, catalogue):
    rect = open_one(users)
    with pytest.raises(ValidationFailed) as refused:
        services.rectify(users["staff"], rect, "  ", "Fixed")
    assert refused.value.field == "finding"


def test_a_finding_beyond_the_limit_is_refused_not_cut(users, catalogue):
    from qms.text import LONG_TEXT

    rect = open_one(users)
    with pytest.raises(ValidationFailed) as refused:
        services.rectify(users["staff"], rect, "x" * (LONG_TEXT + 1), "Fixed")
    assert refused.value.field == "finding"


def test_a_rectification_past_its_due_date_is_overdue(users, catalogue):
    rect = open_one(users)
    rect.due_date = TODAY - timedelta(days=1)
    db.session.commit()
    assert services.is_overdue(rect)
    overdue = db.session.scalars(services.list_rectifications("overdue")).all()
    assert overdue == [rect]
    assert services.on_time(rect) is False


def test_the_department_is_mailed_after_the_commit(users, catalogue, monkeypatch):
    from qms.improvement import mail

    sent = []
    monkeypatch.setattr(
        mail, "settings", lambda: mail.SmtpSettings("x", 25, None, None, False, "q")
    )
    monkeypatch.setattr(mail, "deliver", lambda message, smtp=None: sent.append(message))
    rect = open_one(users)
    assert {m.username for m in sent} == {"staff", "author2"}  # the Service Hall
    assert all(rect.number in m.subject for m in sent)


# -- figures and objectives ------------------------------------------------------------------


def seeded(users):
    receive(
        users,
        rating("C-1", 5, days_ago=3),
        rating("C-2", 4, days_ago=3),
        rating("C-3", 5, window="W02", days_ago=3),
        rating("C-4", 1, window="W02", days_ago=3),
        rating("C-5", 3, days_ago=3),
        rating("C-6", 2, days_ago=400),  # outside the period
    )
    rect = services.get_rating("C-4").rectification
    services.rectify(users["approver"], rect, "Found", "Fixed")
    services.follow_up(users["approver"], rect, TODAY, "phone", "basically_satisfied")
    db.session.commit()


def test_figures_per_window_count_good_poor_on_time_and_satisfaction(users, catalogue):
    seeded(users)
    rows, total = figures.figures(TODAY - timedelta(days=30), TODAY, "window")
    by = {r.key: r for r in rows}
    assert (by["W01"].ratings, by["W01"].good, by["W01"].poor) == (3, 2, 0)
    assert by["W01"].good_rate == 66.7
    assert (by["W02"].good_rate, by["W02"].poor) == (50.0, 1)
    assert (by["W02"].on_time_rate, by["W02"].satisfaction_rate) == (100.0, 100.0)
    assert (total.ratings, total.good_rate, total.poor) == (5, 60.0, 1)


def test_figures_per_department_and_item(users, catalogue):
    seeded(users)
    rows, _total = figures.figures(TODAY - timedelta(days=30), TODAY, "department")
    assert {r.key: r.ratings for r in rows} == {"Service Hall": 3, "Quality Office": 2}
    rows, _total = figures.figures(TODAY - timedelta(days=30), TODAY, "item")
    assert {r.key: r.ratings for r in rows} == {"SI-001": 5}


def test_an_objective_on_the_good_rating_rate_is_computed_from_ratings(users, catalogue):
    seeded(users)
    objective = objectives.create_objective(
        users["approver"],
        "Citizen satisfaction",
        "%",
        95,
        "higher",
        "monthly",
        source="ratings_good_rate",
    )
    db.session.commit()
    period = (TODAY - timedelta(days=3)).strftime("%Y-%m")  # the month the seeded were rated
    measurement = objectives.refresh(objective, period)
    db.session.commit()
    assert measurement.value == 60.0
    assert not measurement.meets_target


def test_a_management_review_brings_the_rating_figures_as_customer_input(users, catalogue):
    from qms.reviews import inputs
    from qms.reviews import services as reviews

    seeded(users)
    review = reviews.plan_review(users["approver"], "Review", TODAY, "approver", [])
    review.period_start, review.period_end = TODAY - timedelta(days=30), TODAY
    got = inputs.compile_inputs(review)
    assert inputs.figure(got, "customer.ratings_good_rate") == 60.0
    assert inputs.figure(got, "customer.ratings_poor") == 1
    assert inputs.figure(got, "customer.followup_satisfaction") == 100.0


def test_a_review_without_ratings_has_no_line_about_them(users):
    from qms.reviews import inputs
    from qms.reviews import services as reviews

    review = reviews.plan_review(users["approver"], "Review", TODAY, "approver", [])
    with pytest.raises(KeyError):
        inputs.figure(inputs.compile_inputs(review), "customer.ratings_good_rate")


# -- the import ------------------------------------------------------------------------------

HEADER_ZH = [
    "案件编号",
    "事项编码",
    "窗口编码",
    "评价渠道",
    "评价等级",
    "服务态度",
    "评价内容",
    "评价时间",
]


def csv_file(rows, header=HEADER_ZH) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_file(rows, header=HEADER_ZH) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROWS = [
    ["C-1", "SI-001", "W01", "窗口评价器", "非常满意", "5", "很好", moment(2)],
    ["C-2", "SI-001", "W01", "网上", "2", "", "排队太久", moment(1)],
]


@pytest.mark.parametrize("make, name", [(csv_file, "r.csv"), (xlsx_file, "r.xlsx")])
def test_a_file_with_a_chinese_header_is_imported_and_reimporting_changes_nothing(
    users, catalogue, make, name
):
    data = make(GOOD_ROWS)
    receipt = imports.import_file(users["approver"], data, name)
    db.session.commit()
    assert len(receipt.created) == 2 and len(receipt.rectifications) == 1
    again = imports.import_file(users["approver"], data, name)
    db.session.commit()
    assert (len(again.created), again.unchanged) == (0, ["C-1", "C-2"])
    assert count(Rating) == 2


def test_an_xlsx_file_with_real_datetimes_and_english_header(users, catalogue):
    header = ["Case number", "Item", "Window", "Channel", "Level", "Rated at"]
    when = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=30)
    data = xlsx_file([["C-7", "SI-002", "W01", "mobile", 4, when]], header)
    [stored] = imports.import_file(users["approver"], data, "r.xlsx").created
    assert stored.item.code == "SI-002"


@pytest.mark.parametrize("make, name", [(csv_file, "r.csv"), (xlsx_file, "r.xlsx")])
def test_a_file_with_a_bad_row_stores_nothing(users, catalogue, make, name):
    rows = [*GOOD_ROWS, ["C-3", "SI-001", "W01", "电话", "很好", "", "", moment(1)]]
    with pytest.raises(ValidationFailed) as refused:
        imports.import_file(users["approver"], make(rows), name)
    db.session.rollback()
    assert refused.value.detail["rows"][0].startswith("Row 4: ")
    assert count(Rating) == 0 and count(Rectification) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_of_the_list_imports_back_unchanged(users, catalogue, client, auth, fmt):
    receive(users, rating("C-1", 5, attitude=4, comment="好"), rating("C-2", 2, staff="staff"))
    auth.login("approver")
    response = client.get(f"/ratings/?format={fmt}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    again = imports.import_file(users["approver"], response.data, f"export.{fmt}")
    assert (len(again.created), sorted(again.unchanged)) == (0, ["C-1", "C-2"])
    assert client.get("/ratings/?format=pdf").status_code == 404


def test_a_file_without_the_needed_columns_is_refused(users, catalogue):
    with pytest.raises(ValidationFailed) as refused:
        imports.import_file(users["approver"], csv_file([["x"]], ["案件编号"]), "r.csv")
    assert "item" in refused.value.message


def test_a_file_that_is_not_a_workbook_is_refused(users, catalogue):
    with pytest.raises(ValidationFailed):
        imports.import_file(users["approver"], b"not a zip", "r.xlsx")


# -- pages -----------------------------------------------------------------------------------


def test_the_pages_show_ratings_figures_and_rectifications(users, catalogue, client, auth):
    seeded(users)
    rect = services.get_rating("C-4").rectification
    auth.login("staff")
    assert "C-1" in client.get("/ratings/?level=5").get_data(as_text=True)
    assert "C-2" not in client.get("/ratings/?level=5").get_data(as_text=True)
    assert "C-4" in client.get("/ratings/cases/C-4").get_data(as_text=True)
    page = client.get("/ratings/figures?group=window").get_data(as_text=True)
    assert "<svg" in page and "66.7" in page
    assert rect.number in client.get("/ratings/rectifications?view=all").get_data(as_text=True)
    assert client.get(f"/ratings/rectifications/{rect.number}").status_code == 200
    assert client.get("/ratings/cases/NOPE").status_code == 404


def test_the_home_page_shows_the_departments_rectifications_due(users, catalogue, client, auth):
    rect = open_one(users)
    auth.login("author2")  # the Service Hall
    assert rect.number in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("author")  # the Quality Office
    assert rect.number not in client.get("/").get_data(as_text=True)


def test_the_quality_office_home_page_lists_the_follow_ups_due(users, catalogue, client, auth):
    rect = open_one(users)
    services.rectify(users["staff"], rect, "Away", "Cover")
    db.session.commit()
    auth.login("approver")
    assert "Follow-ups due" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("staff")
    assert "Follow-ups due" not in client.get("/").get_data(as_text=True)


def test_the_import_page_stores_a_file_and_shows_the_summary(users, catalogue, client, auth):
    auth.login("approver")
    data = {"file": (io.BytesIO(csv_file(GOOD_ROWS)), "ratings.csv")}
    response = client.post("/ratings/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert count(Rating) == 2
    assert "RC-" in response.get_data(as_text=True)


def test_the_import_page_lists_the_bad_rows_and_stores_nothing(users, catalogue, client, auth):
    auth.login("approver")
    rows = [*GOOD_ROWS, ["C-3", "SI-001", "W77", "电话", "5", "", "", moment(1)]]
    data = {"file": (io.BytesIO(csv_file(rows)), "ratings.csv")}
    response = client.post("/ratings/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Row 4: There is no service window W77." in response.get_data(as_text=True)
    assert count(Rating) == 0


def test_staff_may_not_import(users, catalogue, client, auth):
    auth.login("staff")
    assert client.get("/ratings/import").status_code == 403
    data = {"file": (io.BytesIO(csv_file(GOOD_ROWS)), "ratings.csv")}
    assert client.post("/ratings/import", data=data).status_code == 403


def test_the_department_puts_it_right_on_the_page(users, catalogue, client, auth):
    rect = open_one(users)
    auth.login("staff")
    page = client.get(f"/ratings/rectifications/{rect.number}").get_data(as_text=True)
    assert "step-rectify" in page and "step-follow_up" not in page
    response = client.post(
        f"/ratings/rectifications/{rect.number}/rectify", data={"finding": "", "fix": "Fixed"}
    )
    assert response.status_code == 422
    assert "Fixed" in response.get_data(as_text=True)  # the form keeps what was typed
    response = client.post(
        f"/ratings/rectifications/{rect.number}/rectify",
        data={"finding": "Away", "fix": "Cover"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert services.get_rectification(rect.number).state == "rectified"
    follow = {"on": TODAY.isoformat(), "way": "phone", "result": "satisfied"}
    assert (
        client.post(f"/ratings/rectifications/{rect.number}/follow_up", data=follow).status_code
        == 403
    )


# -- the demo --------------------------------------------------------------------------------


def demo_for(users, lang="zh_Hans"):
    from qms.demo.activity import Demo

    people = {"mrep": users["approver"], "staff": users["staff"]}
    return Demo(lang, TODAY, people, {})


def test_the_demo_tells_eleven_months_of_ratings_and_their_loops(users, catalogue):
    from qms.demo import HISTORY_DAYS
    from qms.demo import ratings as demo_ratings
    from qms.demo.activity import _tell

    _tell(demo_ratings.story(demo_for(users)))
    db.session.commit()
    rated = db.session.scalars(select(Rating.rated_at)).all()
    assert len(rated) > 300
    earliest = clock.local(min(rated)).date()
    assert TODAY - timedelta(days=HISTORY_DAYS) <= earliest < TODAY - timedelta(days=300)
    _rows, total = figures.figures(TODAY - timedelta(days=365), TODAY)
    assert total.good_rate > 90
    rects = db.session.scalars(select(Rectification)).all()
    states = sorted(r.state for r in rects)
    assert states.count("closed") >= 3 and "rectified" in states
    assert [r for r in rects if services.is_overdue(r)]
    assert len({r.nc_number for r in rects if r.nc_number}) == 1
    assert any("群众" in (r.followup_note or "") for r in rects)


def test_the_demo_makes_no_ratings_without_a_catalogue(users):
    from qms.demo import ratings as demo_ratings
    from qms.demo.activity import _tell

    _tell(demo_ratings.story(demo_for(users, "en")))
    assert count(Rating) == 0


def test_a_step_the_state_no_longer_allows_is_explained_on_the_page(users, catalogue, client, auth):
    rect = open_one(users)
    services.rectify(users["staff"], rect, "Away", "Cover")
    db.session.commit()
    auth.login("staff")
    response = client.post(
        f"/ratings/rectifications/{rect.number}/rectify", data={"finding": "x", "fix": "y"}
    )
    assert response.status_code == 409
    assert "cannot be" in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.get_rectification(rect.number).finding == "Away"


def test_the_figures_page_groups_by_department(users, catalogue, client, auth):
    seeded(users)
    auth.login("auditor")
    start = (TODAY - timedelta(days=30)).isoformat()
    page = client.get(f"/ratings/figures?group=department&start={start}").get_data(as_text=True)
    assert "Service Hall" in page and "Quality Office" in page
    assert client.get("/ratings/figures?start=nonsense&group=x").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/ratings/", "/ratings/rectifications?view=all", "/ratings/figures", "/"],
)
def test_the_list_pages_queries_do_not_grow_with_the_ratings(users, catalogue, client, auth, path):
    from tests.test_query_counts import counted

    def add(start: int, n: int):
        rows = [
            rating(f"Q-{i}", 1 + i % 5, window=("W01", "W02")[i % 2])
            for i in range(start, start + n)
        ]
        receive(users, *rows)

    add(0, 5)
    auth.login("author2")
    client.get(path)
    with counted() as few:
        assert client.get(path).status_code == 200
    add(5, 40)
    client.get(path)  # the commit expired the signed-in user: load it again first
    with counted() as many:
        assert client.get(path).status_code == 200
    assert len(many) == len(few), path


def test_a_poor_rating_is_sent_to_the_webhooks_once(users, catalogue):
    from qms.webhooks import services as webhooks
    from qms.webhooks.models import WebhookDelivery

    webhooks.create_subscription(
        users["admin"], "https://platform.example.org/qms", ["rating.poor"]
    )
    db.session.commit()
    receive(users, rating("C-0100", level=5), rating("C-0101", level=1))
    receive(users, rating("C-0101", level=1))  # sent again by the platform: nothing new
    [delivery] = db.session.scalars(select(WebhookDelivery))
    assert delivery.event == "rating.poor"
    assert '"case_number": "C-0101"' in delivery.body
    assert '"rectification": "RC-' in delivery.body


def test_ratings_are_criteria_of_the_evaluation_of_windows(users, catalogue):
    from qms.evaluation import sources

    receive(users, rating("C-0200", level=5), rating("C-0201", level=4), rating("C-0202", level=1))
    window = sources.Subject("window", "W01", "W01")
    start, end = TODAY - timedelta(days=30), TODAY
    measure = sources.get("ratings_good_rate").compute(window, start, end, {})
    assert round(measure.value, 1) == 66.7 and measure.detail == "2 / 3"
    assert [e.ref for e in measure.evidence] == ["C-0202"]
    poor = sources.get("ratings_poor").compute(window, start, end, {})
    assert poor.value == 1.0
    assert "ratings_good_rate" in [s.key for s in sources.for_kind("window")]

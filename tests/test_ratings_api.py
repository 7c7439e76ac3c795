"""The ratings API: the service platform's POST (one or a batch, idempotent by case number),
the lists and details, and the rectification steps, as the OpenAPI document describes."""

import pytest
from sqlalchemy import func, select

from qms import clock
from qms.auth.services import create_token
from qms.extensions import db
from qms.ratings.models import Rating
from tests.builders_ratings import rating, seed_catalogue

TODAY = clock.today()


@pytest.fixture
def api(client, users):
    seed_catalogue()
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="approver", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Rating))


def test_the_openapi_document_describes_ratings_and_rectifications(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/ratings",
        "/api/v1/ratings/{case}",
        "/api/v1/rectifications",
        "/api/v1/rectifications/{number}",
        "/api/v1/rectifications/{number}/steps",
    ):
        assert path in paths


def test_one_rating_is_received_and_a_poor_one_opens_a_rectification(api):
    response = api("POST", "/ratings", json=rating("C-1", 1, attitude=2, comment="太慢"))
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["unchanged"]) == (1, 0)
    [rect] = response.json["rectifications"]
    assert rect["state"] == "open" and rect["number"].startswith("RC-")
    shown = api("GET", "/ratings/C-1").json
    assert shown["scores"]["attitude"] == 2 and shown["rectification"]["number"] == rect["number"]


def test_a_batch_sent_twice_changes_nothing_the_second_time(api):
    batch = {"ratings": [rating("C-1", 5), rating("C-2", 4), rating("C-3", 2)]}
    first = api("POST", "/ratings", json=batch).json
    again = api("POST", "/ratings", json=batch).json
    assert (first["created"], first["unchanged"]) == (3, 0)
    assert (again["created"], again["unchanged"]) == (0, 3)
    assert again["unchanged_cases"] == ["C-1", "C-2", "C-3"]
    assert count() == 3


def test_a_changed_resend_is_refused_with_409_and_nothing_of_the_batch_is_stored(api):
    api("POST", "/ratings", json=rating("C-1", 5))
    response = api("POST", "/ratings", json={"ratings": [rating("C-2", 4), rating("C-1", 1)]})
    assert response.status_code == 409
    assert "C-1" in response.json["detail"]["rows"][0]
    assert count() == 1
    assert api("GET", "/ratings/C-1").json["level"] == 5


def test_a_bad_rating_in_a_batch_is_refused_and_nothing_is_stored(api):
    response = api(
        "POST", "/ratings", json={"ratings": [rating("C-1", 5), rating("C-2", 4, window="X")]}
    )
    assert response.status_code == 422
    assert response.json["detail"]["rows"] == ["Row 2: There is no service window X."]
    assert count() == 0


def test_staff_cannot_send_ratings(api):
    assert api("POST", "/ratings", "staff", json=rating()).status_code == 403
    assert count() == 0


def test_the_list_filters_by_level_and_window(api):
    api("POST", "/ratings", json={"ratings": [rating("C-1", 5), rating("C-2", 2, window="W02")]})
    assert [r["case_number"] for r in api("GET", "/ratings?level=2").json["items"]] == ["C-2"]
    assert [r["case_number"] for r in api("GET", "/ratings?window=W01").json["items"]] == ["C-1"]
    start = TODAY.isoformat()
    assert api("GET", f"/ratings?start={start}", "staff").json["total"] == 0
    assert api("GET", "/ratings/NOPE").status_code == 404


def test_the_rectification_steps_through_the_api(api):
    number = api("POST", "/ratings", json=rating("C-1", 1)).json["rectifications"][0]["number"]
    path = f"/rectifications/{number}/steps"
    assert (
        api(
            "POST", path, "staff2", json={"step": "rectify", "finding": "a", "fix": "b"}
        ).status_code
        == 403
    )
    response = api(
        "POST", path, "staff", json={"step": "rectify", "finding": "Away", "fix": "Cover"}
    )
    assert response.status_code == 200 and response.json["state"] == "rectified"
    assert response.json["on_time"] is True
    follow = {"step": "follow_up", "on": TODAY.isoformat(), "way": "phone", "result": "satisfied"}
    assert api("POST", path, "staff", json=follow).status_code == 403
    assert api("POST", path, json=follow).json["state"] == "followed_up"
    assert api("POST", path, json={"step": "follow_up", **follow}).status_code == 409
    assert api("POST", path, json={"step": "close"}).json["state"] == "closed"
    listed = api("GET", "/rectifications?view=closed", "staff").json
    assert [r["number"] for r in listed["items"]] == [number]
    assert api("GET", "/rectifications?view=open").json["total"] == 0
    assert api("GET", f"/rectifications/{number}").json["followup_result"] == "satisfied"

"""Outgoing webhooks: signed deliveries to a real local receiver, retried by the job runner;
the events releases, NCs and overdue actions emit; pages, API and permissions."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from qms import clock, jobs, trail, webhooks
from qms.auth.services import create_token
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.uow import unit_of_work
from qms.webhooks import services
from qms.webhooks.models import EVENTS, WebhookDelivery, WebhookSubscription
from tests import builders
from tests.builders_improvement import SOON, action_for, raised

# -- a real receiver, and the job runner worked here --------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next of ``answers``
    (then 200) and keeps what it was sent."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.received: list[tuple] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((self.headers, body))  # case-insensitive
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/qms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def quick(app):
    """Retries without waiting, three attempts (a loaded machine may be slow to answer)."""
    app.config.update(QMS_WEBHOOK_RETRY_DELAY=0, QMS_WEBHOOK_ATTEMPTS=3, QMS_WEBHOOK_TIMEOUT=10)
    return app


def work(app, rounds: int = 10) -> int:
    """Run the queue as the worker would, retries included once their time has come;
    return how many jobs ran."""
    huey = jobs.queue(app).huey
    ran = 0
    for _round in range(rounds):
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
            ran += 1
        due = huey.read_schedule(datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1))
        if not due:
            break
        for task in due:
            huey.enqueue(task)
    db.session.expire_all()
    return ran


def subscribe(users, url, events=EVENTS, **kw) -> WebhookSubscription:
    return services.create_subscription(users["admin"], url, list(events), **kw)


def deliveries(event: str | None = None) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if event:
        stmt = stmt.where(WebhookDelivery.event == event)
    return list(db.session.scalars(stmt))


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature as a receiver computes it, written out independently of the app."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# -- delivery: signed, retried, failed, sent again -------------------------------------------


def test_a_delivery_is_retried_by_the_job_runner_after_the_receiver_fails_once(
    users, quick, receiver
):
    receiver.answers = [500]
    sub = subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"window": "A-12", "score": 1})
    assert work(quick) == 2

    [row] = deliveries()
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "delivered",
        2,
        200,
        None,
    )
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert headers["X-QMS-Event"] == "rating.poor"
        assert headers["X-QMS-Delivery"] == row.uid
        assert headers["Content-Type"].startswith("application/json")
        assert headers["X-QMS-Signature"] == expected_signature(
            sub.secret, headers["X-QMS-Timestamp"], body
        )
        sent = json.loads(body)
        assert sent["id"] == row.uid and sent["event"] == "rating.poor"
        assert sent["data"] == {"window": "A-12", "score": 1}
    # Every attempt sends the same body; a receiver drops a repeated delivery id.
    assert receiver.received[0][1] == receiver.received[1][1]


def test_a_signature_made_with_another_secret_does_not_verify(users, quick, receiver):
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 2})
    work(quick)
    [(headers, body)] = receiver.received
    assert headers["X-QMS-Signature"] != expected_signature(
        "0" * 64, headers["X-QMS-Timestamp"], body
    )
    # Nor does the right secret over a body changed on the way.
    assert headers["X-QMS-Signature"] != expected_signature(
        subscribe(users, receiver.url).secret, headers["X-QMS-Timestamp"], body + b" "
    )


def test_a_delivery_that_fails_every_attempt_is_failed_and_can_be_sent_again(
    users, quick, receiver
):
    receiver.answers = [500, 503, 502]
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    work(quick)
    [row] = deliveries()
    assert (row.state, row.attempts, row.last_status) == ("failed", 3, 502)
    assert "502" in row.last_error

    services.send_again(users["admin"], row)
    work(quick)
    [row] = deliveries()
    assert (row.state, row.attempts, row.last_status) == ("delivered", 1, 200)
    assert len(receiver.received) == 4


def test_only_a_failed_delivery_can_be_sent_again(users, quick, receiver):
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    work(quick)
    [row] = deliveries()
    with pytest.raises(ValidationFailed):
        services.send_again(users["admin"], row)
    assert jobs.queue(quick).huey.pending_count() == 0


def test_a_failed_attempt_is_retried_after_a_delay_that_doubles(users, app, receiver):
    app.config.update(QMS_WEBHOOK_RETRY_DELAY=60, QMS_WEBHOOK_ATTEMPTS=5)
    assert [services.retry_delay(n) for n in (1, 2, 3)] == [60, 120, 240]
    receiver.answers = [500]
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    huey = jobs.queue(app).huey
    huey.execute(huey.dequeue())
    [retry] = huey.scheduled()
    wait = (retry.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    assert 30 < wait <= 60
    db.session.expire_all()
    assert deliveries()[0].state == "pending"


def test_an_unreachable_receiver_is_a_failed_attempt_not_an_error(users, quick):
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens on that port now
    subscribe(users, url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    assert work(quick) == 3
    [row] = deliveries()
    assert (row.state, row.attempts, row.last_status) == ("failed", 3, None)
    assert row.last_error


def test_a_switched_off_subscription_is_not_delivered_to(users, quick, receiver):
    sub = subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    services.change_subscription(users["admin"], sub, active=False)
    work(quick)
    assert receiver.received == []
    [row] = deliveries()
    assert row.state == "failed" and "switched off" in row.last_error
    # And a new event is not even stored for it.
    webhooks.emit("rating.poor", {"score": 1})
    assert len(deliveries()) == 1


# -- emit(): in the caller's unit of work, sent after commit ----------------------------------


def test_emit_stores_a_delivery_per_subscription_to_the_event_only(users, quick, receiver):
    subscribe(users, receiver.url, ["nc.raised"])
    wanted = subscribe(users, receiver.url, ["rating.poor", "nc.raised"])
    subscribe(users, receiver.url, ["rating.poor"], active=False)
    webhooks.emit("rating.poor", {"score": 1})
    assert [d.subscription_id for d in deliveries()] == [wanted.id]


def test_emit_enqueues_nothing_before_the_commit(users, quick, receiver):
    subscribe(users, receiver.url, ["rating.poor"])
    huey = jobs.queue(quick).huey
    with unit_of_work():
        webhooks.emit("rating.poor", {"score": 1})
        assert huey.pending_count() == 0
    assert huey.pending_count() == 1


def test_a_rolled_back_operation_emits_nothing(users, quick, receiver):
    subscribe(users, receiver.url, ["rating.poor"])
    with pytest.raises(ValidationFailed), unit_of_work():
        webhooks.emit("rating.poor", {"score": 1})
        raise ValidationFailed("refused after the event")
    assert deliveries() == []
    assert work(quick) == 0 and receiver.received == []


def test_an_unknown_event_is_a_mistake_of_the_caller(users, quick):
    with pytest.raises(ValueError, match="not a webhook event"):
        webhooks.emit("rating.good", {})


# -- the events the domains emit ---------------------------------------------------------------


def test_a_release_emits_document_released_once(users, quick, receiver):
    subscribe(users, receiver.url, ["document.released"])
    builders.effective(users)
    [row] = deliveries()
    data = services.payload_of(row)["data"]
    assert row.event == "document.released"
    assert (data["code"], data["revision"]) == ("QP-07", "A")
    assert data["commit"] and data["effective_date"] == clock.today().isoformat()
    work(quick)
    assert [h["X-QMS-Event"] for h, _b in receiver.received] == ["document.released"]


def test_a_release_scheduled_for_later_emits_only_when_it_takes_effect(
    users, quick, receiver, monkeypatch
):
    from qms.documents import services as documents

    subscribe(users, receiver.url, ["document.released"])
    doc = builders.approved(users)
    tomorrow = clock.today() + timedelta(days=1)
    documents.release(users["approver"], doc, tomorrow)
    assert deliveries() == []
    monkeypatch.setattr(clock, "today", lambda: tomorrow)
    jobs.run_now("release_due")
    db.session.expire_all()
    assert [d.event for d in deliveries()] == ["document.released"]


def test_a_refused_release_emits_nothing(users, quick, receiver):
    from qms.documents import services as documents

    subscribe(users, receiver.url, ["document.released"])
    doc = builders.approved(users)
    with pytest.raises(PermissionDenied):
        documents.release(users["staff"], doc)
    assert deliveries() == [] and work(quick) == 0


def test_a_new_nc_emits_nc_raised_once(users, quick, receiver):
    subscribe(users, receiver.url, ["nc.raised", "document.released"])
    nc = raised(users)
    [row] = deliveries()
    data = services.payload_of(row)["data"]
    assert row.event == "nc.raised"
    assert (data["number"], data["raised_by"], data["responsible"]) == (
        nc.number,
        "staff",
        "author",
    )
    work(quick)
    assert len(receiver.received) == 1


def test_a_refused_nc_emits_nothing(users, quick, receiver):
    subscribe(users, receiver.url, ["nc.raised"])
    with pytest.raises(ValidationFailed):
        raised(users, records=["RC-NONE"])
    with pytest.raises(ValidationFailed):
        raised(users, title="")
    assert deliveries() == []
    assert work(quick) == 0


def test_an_overdue_action_emits_action_overdue_once(users, quick, receiver, monkeypatch):
    subscribe(users, receiver.url, ["action.overdue"])
    action = action_for(users, raised(users))
    assert jobs.run_now("webhook_overdue") == []  # not due yet
    monkeypatch.setattr(clock, "today", lambda: SOON + timedelta(days=1))
    assert jobs.run_now("webhook_overdue") == [action.number]
    assert jobs.run_now("webhook_overdue") == []  # once, however often the job runs
    db.session.expire_all()
    [row] = deliveries()
    data = services.payload_of(row)["data"]
    assert (row.event, data["number"], data["owner"]) == (
        "action.overdue",
        action.number,
        "author2",
    )
    assert data["due_date"] == SOON.isoformat()
    work(quick)
    assert [h["X-QMS-Event"] for h, _b in receiver.received] == ["action.overdue"]


def test_an_action_done_in_time_never_emits_overdue(users, quick, receiver, monkeypatch):
    subscribe(users, receiver.url, ["action.overdue"])
    action = action_for(users, raised(users), action_type="correction")
    improvement.action_transition(users["author2"], action, "in_progress")
    improvement.action_transition(users["author2"], action, "done", note="Withdrawn.")
    monkeypatch.setattr(clock, "today", lambda: SOON + timedelta(days=1))
    assert jobs.run_now("webhook_overdue") == []


# -- subscriptions: validation, permissions, trail -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.org/hook",
        "javascript:alert(1)",
        "http://",
        "example.org/hook",
        "http://exa mple.org/hook",
        "http://example.org:99999/hook",
        "http://example.org:port/hook",
        "https://" + "a" * 2000 + ".org",
    ],
)
def test_a_webhook_address_must_be_an_http_or_https_url(users, url):
    with pytest.raises(ValidationFailed) as refused:
        subscribe(users, url)
    assert refused.value.field == "url"
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://hooks.example.org/qms?x=1", "HTTPS://A.ORG"]
)
def test_http_and_https_addresses_are_accepted(users, url):
    assert subscribe(users, url).url == url


@pytest.mark.parametrize("events", [[], ["nc.raised", "nc.closed"], "nc.raised"])
def test_a_webhook_chooses_known_events_and_at_least_one(users, events):
    with pytest.raises(ValidationFailed) as refused:
        subscribe(users, "https://example.org/h", events)
    assert refused.value.field == "events"


def test_a_webhooks_secret_is_generated_and_each_is_different(users):
    first, second = subscribe(users, "https://a.example.org"), subscribe(users, "https://b.org")
    assert len(first.secret) == 64 and first.secret != second.secret


@pytest.mark.parametrize("who", ["staff", "author", "approver", "auditor"])
def test_only_an_administrator_keeps_webhooks(users, who):
    with pytest.raises(PermissionDenied):
        subscribe({"admin": users[who]}, "https://example.org/hook")
    sub = subscribe(users, "https://example.org/hook")
    for refused in (
        lambda: services.list_subscriptions(users[who]),
        lambda: services.change_subscription(users[who], sub, active=False),
        lambda: services.delete_subscription(users[who], sub),
        lambda: services.send_test(users[who], sub),
        lambda: services.list_deliveries(users[who]),
    ):
        with pytest.raises(PermissionDenied):
            refused()
    db.session.expire_all()
    assert sub.active and deliveries() == []


def test_creating_changing_and_deleting_a_webhook_leaves_trail_events(users):
    sub = subscribe(users, "https://example.org/hook", ["nc.raised"])
    key = str(sub.id)
    services.change_subscription(users["admin"], sub, events=["nc.raised", "rating.poor"])
    services.change_subscription(users["admin"], sub, events=["rating.poor", "nc.raised"])
    services.delete_subscription(users["admin"], sub)
    events = trail.events_for("webhook", key)
    assert [e.action for e in events] == ["webhook.created", "webhook.changed", "webhook.deleted"]
    assert events[1].after["events"] == ["nc.raised", "rating.poor"]
    assert all(sub.secret not in json.dumps([e.before, e.after]) for e in events)


def test_deleting_a_webhook_deletes_its_deliveries_and_sends_nothing(users, quick, receiver):
    sub = subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    services.delete_subscription(users["admin"], sub)
    assert deliveries() == []
    work(quick)
    assert receiver.received == []


# -- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "author", "approver", "auditor"])
def test_the_webhook_pages_are_for_administrators(users, client, auth, who):
    sub = subscribe(users, "https://example.org/hook")
    auth.login(who)
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.get(f"/admin/webhooks/{sub.id}").status_code == 403
    assert client.post(f"/admin/webhooks/{sub.id}/delete").status_code == 403
    assert client.post(f"/admin/webhooks/{sub.id}/test").status_code == 403
    assert b"/admin/webhooks/" not in client.get("/").data
    assert db.session.get(WebhookSubscription, sub.id) is not None


def test_an_administrator_adds_a_webhook_and_sees_its_secret_once(users, client, auth):
    auth.login("admin")
    page = client.post(
        "/admin/webhooks/",
        data={
            "url": "https://hooks.example.org/qms",
            "events": ["nc.raised", "action.overdue"],
            "description": "Service hall display",
            "active": "y",
        },
    )
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    [sub] = db.session.scalars(select(WebhookSubscription)).all()
    assert sub.events == ["nc.raised", "action.overdue"] and sub.active
    assert sub.secret in page.get_data(as_text=True)
    detail = client.get(f"/admin/webhooks/{sub.id}").get_data(as_text=True)
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert sub.secret not in detail and sub.secret not in listing
    assert "hooks.example.org" in listing and "X-QMS-Signature" in detail


def test_a_bad_address_is_refused_on_the_page_and_the_form_keeps_what_was_typed(
    users, client, auth
):
    auth.login("admin")
    page = client.post(
        "/admin/webhooks/",
        data={"url": "ftp://files.example.org/in", "events": ["nc.raised"], "description": "Kept"},
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "http:// or https://" in text
    assert "ftp://files.example.org/in" in text and "Kept" in text
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0
    nothing = client.post("/admin/webhooks/", data={"url": "https://example.org/h"})
    assert nothing.status_code == 422


def test_an_administrator_changes_the_events_and_switches_a_webhook_off(users, client, auth):
    sub = subscribe(users, "https://example.org/hook", ["nc.raised"])
    auth.login("admin")
    answer = client.post(
        f"/admin/webhooks/{sub.id}",
        data={"url": "https://example.org/other", "events": ["rating.poor"]},
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert (sub.url, sub.events, sub.active) == (
        "https://example.org/other",
        ["rating.poor"],
        False,
    )
    refused = client.post(
        f"/admin/webhooks/{sub.id}", data={"url": "mailto:x@example.org", "events": ["nc.raised"]}
    )
    assert refused.status_code == 422 and "mailto:x@example.org" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert sub.url == "https://example.org/other"


def test_the_test_button_sends_a_test_event_and_the_log_shows_it(users, client, auth, quick):
    local = Receiver(answers=[500, 500, 500])
    try:
        sub = subscribe(users, local.url, ["nc.raised"])
        auth.login("admin")
        assert client.post(f"/admin/webhooks/{sub.id}/test").status_code == 302
        work(quick)
        [row] = deliveries()
        assert (row.event, row.state) == ("webhook.test", "failed")
        page = client.get(f"/admin/webhooks/{sub.id}").get_data(as_text=True)
        assert "Send again" in page and "500" in page
        log = client.get("/admin/webhooks/deliveries?state=failed").get_data(as_text=True)
        assert f"/admin/webhooks/deliveries/{row.id}/resend" in log
        answer = client.post(f"/admin/webhooks/deliveries/{row.id}/resend")
        assert answer.status_code == 302
        work(quick)
        assert deliveries()[0].state == "delivered"
        assert [h["X-QMS-Event"] for h, _b in local.received] == ["webhook.test"] * 4
    finally:
        local.close()


def test_an_administrator_deletes_a_webhook(users, client, auth):
    sub = subscribe(users, "https://example.org/hook")
    auth.login("admin")
    assert client.post(f"/admin/webhooks/{sub.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0
    assert client.get(f"/admin/webhooks/{sub.id}").status_code == 404


# -- API ------------------------------------------------------------------------------------------


@pytest.fixture
def admin_api(users, client):
    headers = {"Authorization": f"Bearer {create_token(users['admin'])}"}
    db.session.commit()
    return client, headers


def test_the_api_creates_a_webhook_and_answers_its_secret_once(admin_api):
    client, headers = admin_api
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.org/hook", "events": ["nc.raised"]},
        headers=headers,
    )
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    body = made.get_json()
    assert len(body["secret"]) == 64 and body["events"] == ["nc.raised"]
    shown = client.get(f"/api/v1/webhooks/{body['id']}", headers=headers).get_json()
    assert "secret" not in shown and shown["url"] == "https://example.org/hook"
    listed = client.get("/api/v1/webhooks", headers=headers).get_json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0]


def test_the_api_changes_and_deletes_a_webhook(admin_api, users):
    client, headers = admin_api
    sub = subscribe(users, "https://example.org/hook", ["nc.raised"])
    changed = client.patch(
        f"/api/v1/webhooks/{sub.id}",
        json={"events": ["rating.poor", "nc.raised"], "active": False},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["nc.raised", "rating.poor"]
    assert changed.get_json()["active"] is False
    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 404


def test_the_api_lists_a_webhooks_deliveries(admin_api, users, quick, receiver):
    client, headers = admin_api
    sub = subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    work(quick)
    answer = client.get(f"/api/v1/webhooks/{sub.id}/deliveries", headers=headers)
    [item] = answer.get_json()["items"]
    assert (item["event"], item["state"], item["attempts"], item["last_status"]) == (
        "rating.poor",
        "delivered",
        1,
        200,
    )
    assert item["payload"]["data"] == {"score": 1} and item["uid"] == item["payload"]["id"]
    failed = client.get(f"/api/v1/webhooks/{sub.id}/deliveries?state=failed", headers=headers)
    assert failed.get_json()["items"] == []


def test_the_api_refuses_a_bad_address_with_a_message(admin_api):
    client, headers = admin_api
    answer = client.post(
        "/api/v1/webhooks",
        json={"url": "file:///etc/passwd", "events": ["nc.raised"]},
        headers=headers,
    )
    assert answer.status_code == 422
    assert "url" in answer.get_json()["detail"]
    unknown = client.post(
        "/api/v1/webhooks", json={"url": "https://a.org", "events": ["nc.closed"]}, headers=headers
    )
    assert unknown.status_code == 422
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0


@pytest.mark.parametrize("who", ["staff", "approver"])
def test_the_webhook_api_is_for_administrator_tokens(users, client, who):
    headers = {"Authorization": f"Bearer {create_token(users[who])}"}
    db.session.commit()
    sub = subscribe(users, "https://example.org/hook")
    assert client.get("/api/v1/webhooks", headers=headers).status_code == 403
    assert client.get(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/webhooks/{sub.id}/deliveries", headers=headers).status_code == 403
    made = client.post(
        "/api/v1/webhooks", json={"url": "https://x.org", "events": ["nc.raised"]}, headers=headers
    )
    assert made.status_code == 403
    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 403
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 1


def test_the_webhook_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/webhooks"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/webhooks/{ident}"])
    assert "get" in spec["paths"]["/api/v1/webhooks/{ident}/deliveries"]


def test_the_list_page_shows_the_last_three_deliveries_of_each_webhook(
    users, client, auth, quick, receiver
):
    busy = subscribe(users, receiver.url, ["rating.poor"], description="Busy")
    quiet = subscribe(users, receiver.url, ["nc.raised"], description="Quiet")
    for score in range(5):
        webhooks.emit("rating.poor", {"score": score})
    raised(users)
    latest = services.latest_deliveries([busy, quiet])
    assert [len(latest[busy.id]), len(latest[quiet.id])] == [3, 1]
    assert latest[busy.id][0].id > latest[busy.id][1].id > latest[busy.id][2].id
    auth.login("admin")
    page = client.get("/admin/webhooks/").get_data(as_text=True)
    assert page.count('<span class="muted">rating.poor ') == 3
    assert page.count('<span class="muted">nc.raised ') == 1


def test_a_switched_off_webhook_cannot_be_tested(users, client, auth, quick):
    sub = subscribe(users, "https://example.org/hook", active=False)
    auth.login("admin")
    page = client.post(f"/admin/webhooks/{sub.id}/test", follow_redirects=True)
    assert "switch it on" in page.get_data(as_text=True)
    assert deliveries() == []


# -- the sweep: lost jobs, old deliveries -----------------------------------------------------


def test_a_delivery_whose_job_was_lost_is_sent_by_the_sweep(users, quick, receiver):
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    jobs.queue(quick).huey.flush()  # a worker died with the job, say
    assert services.sweep()["resent"] == []  # too soon to call it lost
    later = datetime.now(UTC) + timedelta(minutes=11)
    [row] = deliveries()
    assert services.sweep(later)["resent"] == [row.id]
    assert services.sweep(later)["resent"] == []  # handed over: not lost again at once
    work(quick)
    assert deliveries()[0].state == "delivered" and len(receiver.received) == 1


def test_a_delivery_sent_again_long_after_it_failed_is_not_taken_for_lost(users, quick, receiver):
    receiver.answers = [500, 500, 500]
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    work(quick)
    [row] = deliveries()
    row.last_attempt_at = row.queued_at = datetime.now(UTC) - timedelta(days=2)
    db.session.commit()
    services.send_again(users["admin"], row)  # its job waits in the queue
    assert services.sweep()["resent"] == []
    assert jobs.queue(quick).huey.pending_count() == 1


def test_the_sweep_leaves_a_delivery_waiting_for_its_retry(users, app, receiver):
    app.config.update(QMS_WEBHOOK_RETRY_DELAY=3600, QMS_WEBHOOK_ATTEMPTS=3)
    receiver.answers = [500]
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    huey = jobs.queue(app).huey
    huey.execute(huey.dequeue())  # failed once: the retry is due in an hour
    db.session.expire_all()
    assert services.sweep(datetime.now(UTC) + timedelta(minutes=30))["resent"] == []
    assert huey.pending_count() == 0


def test_the_sweep_prunes_finished_deliveries_after_the_days_kept(users, quick, receiver):
    quick.config["QMS_WEBHOOK_KEEP_DAYS"] = 30
    subscribe(users, receiver.url, ["rating.poor"])
    webhooks.emit("rating.poor", {"score": 1})
    work(quick)
    webhooks.emit("rating.poor", {"score": 2})  # still pending: kept however old
    jobs.queue(quick).huey.flush()
    assert services.sweep(datetime.now(UTC) + timedelta(days=29))["pruned"] == 0
    result = services.sweep(datetime.now(UTC) + timedelta(days=31))
    assert result["pruned"] == 1
    assert [d.state for d in deliveries()] == ["pending"]

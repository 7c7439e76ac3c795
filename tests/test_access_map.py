"""Who may open what, endpoint by endpoint, built from the application's URL map.

Every endpoint of ``app.url_map`` (pages and API; not ``static``) is requested anonymously
and as each test user (``USERS`` in conftest), and the answer is compared with the one
table below, ``EXPECTED``. An endpoint missing from the table fails the test by name, so a
new page or API resource cannot go out without someone deciding who may open it.

How each endpoint is tried:

- an endpoint that answers GET gets a GET, with its URL variables filled from the objects
  seeded once (:func:`seed`), or from :data:`ARGS`;
- an endpoint that only changes state (POST, PUT, PATCH) gets a GET, which must answer
  405 for everybody (no state change on GET), and an anonymous request by its own
  method, which must be sent to sign in (pages) or answer 401 (API) before anything runs.

Adding a row: ``"blueprint.view": page(WHO)`` for a page every user in ``WHO`` opens (the
others get 403; ``page(WHO, denied=404)`` when the others must not learn it exists),
``api(WHO)`` likewise for an API resource, ``change()`` for a state-changing endpoint,
``public()`` for what anonymous visitors open.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from qms import clock, create_app
from qms.auth import visibility
from qms.auth.services import create_token, create_user
from qms.extensions import db
from qms.gitstore import GitStore
from tests.conftest import PASSWORD, PG_URL, USERS, _config, empty_postgres

EVERYONE = frozenset(USERS)
NOBODY: frozenset[str] = frozenset()


def holding(*roles: str) -> frozenset[str]:
    """The test users holding any of ``roles``."""
    return frozenset(name for name, (have, _dept) in USERS.items() if set(have) & set(roles))


def named(*names: str) -> frozenset[str]:
    return frozenset(names)


MANAGERS = holding("approver", "admin")
ADMINS = holding("admin")
AUTHORS = holding("author", "approver", "admin")
PLANNERS = holding("auditor", "approver", "admin")
#: Who does not see the seeded Service Hall record and complaint (qms.auth.visibility).
OUT_OF_SIGHT = frozenset(
    name
    for name, (roles, dept) in USERS.items()
    if dept != "Service Hall"
    and not any(visibility.VISIBILITY[r]["record"] == visibility.ALL for r in roles)
)
IN_SIGHT = EVERYONE - OUT_OF_SIGHT


@dataclass(frozen=True)
class Rule:
    """What an endpoint answers: ``who`` gets ``ok``, other users ``denied``."""

    kind: str  # "page", "api", "change", "public"
    who: frozenset[str] = NOBODY
    denied: int = 403
    ok: int = 200
    #: users who may not even learn the object exists: 404 whatever ``denied`` says
    hidden: frozenset[str] = NOBODY


def page(who: frozenset[str] = EVERYONE, denied: int = 403, ok: int = 200, hidden=NOBODY) -> Rule:
    return Rule("page", who, denied, ok, hidden)


def api(who: frozenset[str] = EVERYONE, denied: int = 403, ok: int = 200, hidden=NOBODY) -> Rule:
    return Rule("api", who, denied, ok, hidden)


def change() -> Rule:
    return Rule("change")


def public(ok: int = 200, signed_in: int = 200) -> Rule:
    """Open to anonymous visitors (``ok``); signed-in users get ``signed_in``."""
    return Rule("public", EVERYONE if signed_in == ok else NOBODY, denied=signed_in, ok=ok)


# -- the one table ------------------------------------------------------------------------
# The lead adds the rows of endpoints other branches bring; keep it sorted by endpoint.

EXPECTED: dict[str, Rule] = {
    "accounts.detail": page(ADMINS, ok=404),  # no user "0"
    "accounts.index": page(ADMINS),
    "accounts.reset_password": change(),
    "accounts.revoke_token": change(),
    "accounts.set_active": change(),
    "accounts.set_department": change(),
    "accounts.set_roles": change(),
    "accounts.unlock": change(),
    "adoption.adopt": page(AUTHORS, ok=404),  # no upstream named "0"
    "adoption.end": change(),
    "adoption.fetch": change(),
    "adoption.index": page(AUTHORS),
    "adoption.resume": change(),
    "adoption.sync": change(),
    "adoption.take_in": change(),
    "adoption.upstream": page(AUTHORS, ok=404),
    "api-docs.openapi_json": public(),
    "api_actions.Actions": api(),
    "api_actions.change_request": change(),
    "api_actions.get_action": api(),
    "api_actions.transition": change(),
    "api_audits.create_audit": change(),
    "api_audits.get_audit": api(),
    "api_audits.get_report": api(ok=409),  # no report before the audit is done
    "api_audits.list_audits": api(),
    "api_audits.post_finding": change(),
    "api_audits.post_transition": change(),
    "api_change_requests.ChangeRequests": api(),
    "api_change_requests.get_change_request": api(NOBODY, denied=404),  # none seeded
    "api_change_requests.post_decision": change(),
    "api_changes.get_changes": api(),
    "api_context.Issues": api(),
    "api_context.LegalRequirementOne": api(ok=404),  # none seeded
    "api_context.LegalRequirements": api(),
    "api_context.Parties": api(),
    "api_documents.Documents": api(),
    "api_documents.approve": change(),
    "api_documents.content": api(),
    "api_documents.diff": api(ok=422),  # asks which revisions to compare
    "api_documents.get_document": api(),
    "api_documents.obsolete": change(),
    "api_documents.periodic_review": change(),
    "api_documents.put_draft": change(),
    "api_documents.reject": change(),
    "api_documents.release": change(),
    "api_documents.submit": change(),
    "api_equipment.Instrument": api(ok=404),  # none seeded
    "api_equipment.Register": api(),
    "api_equipment.calibrate": change(),
    "api_equipment.change_status": change(),
    "api_feedback.Complaints": api(),
    "api_feedback.Surveys": api(),
    "api_feedback.get_complaint": api(IN_SIGHT, denied=404),
    "api_feedback.get_survey": api(NOBODY, denied=404),  # none seeded
    "api_feedback.post_nc": change(),
    "api_feedback.post_response": change(),
    "api_evaluations.Evaluations": api(),
    "api_evaluations.get_evaluation": api(ok=404),  # none seeded
    "api_evaluations.list_schemes": api(),
    "api_nonconformities.Nonconformities": api(),
    "api_nonconformities.add_evidence": change(),
    "api_nonconformities.add_file": change(),
    "api_nonconformities.analysis": change(),
    "api_nonconformities.assign": change(),
    "api_nonconformities.get_nc": api(),
    "api_nonconformities.post_disposition": change(),
    "api_nonconformities.put_output": change(),
    "api_nonconformities.transition": change(),
    "api_objectives.Objectives": api(),
    "api_objectives.get_objective": api(),
    "api_objectives.post_measurement": change(),
    "api_people.Departments": api(),
    "api_people.Users": api(ADMINS),
    "api_people.get_user": api(ADMINS),
    "api_people.put_active": change(),
    "api_people.put_department": change(),
    "api_people.put_password": change(),
    "api_people.put_roles": change(),
    "api_people.unlock": change(),
    "api_programme.Programme": api(),
    "api_programme.delete_unit": change(),
    "api_programme.post_unit": change(),
    "api_reading.Reading": api(),
    "api_reading.coverage": api(),
    "api_records.Records": api(),
    "api_records.amend": change(),
    "api_records.get_record": api(IN_SIGHT, denied=404),
    "api_records.link": change(),
    "api_records.upload": change(),
    "api_records.void": change(),
    "api_reviews.Reviews": api(),
    "api_reviews.approve": change(),
    "api_reviews.get_review": api(),
    "api_reviews.hold": change(),
    "api_reviews.post_decision": change(),
    "api_reviews.post_decision_action": change(),
    "api_reviews.prepare": change(),
    "api_reviews.put_notes": change(),
    "api_risks.RiskActions": api(ok=404),
    "api_risks.RiskOne": api(ok=404),
    "api_risks.RiskStatus": change(),
    "api_risks.Risks": api(),
    "api_search.search": api(),
    "api_standards.Categories": api(),
    "api_standards.StandardOne": api(ok=404),  # none seeded
    "api_standards.Standards": api(),
    "api_standards.change_status": change(),
    "api_service_items.ServiceItemOne": api(ok=404),  # none seeded
    "api_service_items.ServiceItems": api(),
    "api_service_items.WindowOne": api(ok=404),  # none seeded
    "api_service_items.Windows": api(),
    "api_service_items.get_coverage": api(),
    "api_ratings.RatingOne": api(ok=404),  # no case "0"
    "api_ratings.Ratings": api(),
    "api_ratings.get_rectification": api(ok=404),
    "api_ratings.list_rectifications": api(),
    "api_ratings.step": change(),
    "api_suppliers.SupplierOne": api(ok=404),
    "api_suppliers.Suppliers": api(),
    "api_suppliers.change_status": change(),
    "api_suppliers.evaluate": change(),
    "api_trail.list_events": api(holding("auditor", "approver", "admin")),
    "api_training.Records": api(),
    "api_training.get_matrix": api(),
    "api_training.post_evaluation": change(),
    "api_training.post_session": change(),
    "api_webhooks.SubscriptionOne": api(ADMINS, ok=404),  # none seeded
    "api_webhooks.Subscriptions": api(ADMINS),
    "api_webhooks.deliveries": api(ADMINS, ok=404),
    "audits.add_question": change(),
    "audits.attachment": page(NOBODY, denied=404),  # none seeded
    "audits.checklist": page(ok=302),  # to the plan: the audit has not started
    "audits.create": page(PLANNERS),
    "audits.detail": page(),
    "audits.edit": page(PLANNERS),
    "audits.index": page(),
    "audits.move": change(),
    "audits.programme": page(),
    "audits.question": page(NOBODY, denied=404),  # no question 0
    "audits.raise_action": change(),
    "audits.remove_unit": change(),
    "audits.report_download": page(ok=409),  # no report before the audit is done
    "audits.report_page": page(),
    "auth.login": public(signed_in=302),
    "auth.logout": change(),
    "auth.password": page(),
    "auth.profile": page(),
    "auth.revoke_own_token": change(),
    "auth.tokens": page(),
    "context.add": change(),
    "context.export": page(),
    "context.index": page(),
    "context.legal": page(NOBODY, denied=404),  # none seeded
    "documents.acknowledge": change(),
    "documents.acknowledge_selected": change(),
    "documents.approve": change(),
    "documents.change_request": page(NOBODY, denied=404),  # none seeded
    "documents.change_requests": page(),
    "documents.comment": change(),
    "documents.content": page(),
    "documents.create": page(AUTHORS),
    "documents.detail": page(),
    "documents.diff": page(),
    "documents.draft_word": page(NOBODY, denied=404),  # no draft seeded
    "documents.formatted_redline": page(),
    "documents.edit": page(AUTHORS),
    "documents.media": page(NOBODY, denied=404),
    "documents.new_change_request": page(),
    "documents.obsolete": change(),
    "documents.open_draft": change(),
    "documents.periodic_review": change(),
    "documents.preview": change(),
    "documents.register": page(),
    "documents.reject": change(),
    "documents.release": change(),
    "documents.review_due": page(),
    "documents.revision": page(),
    "documents.sign_review": change(),
    "documents.submit": change(),
    "documents.upload_word": change(),
    "documents.keep_word": change(),
    "documents.subtree": page(),
    "documents.tree": page(),
    "equipment.add": change(),
    "equipment.calibrate": change(),
    "equipment.certificate": page(NOBODY, denied=404),  # none seeded
    "equipment.detail": page(NOBODY, denied=404),
    "equipment.edit": change(),
    "equipment.export": page(),
    "equipment.index": page(),
    "equipment.status": change(),
    "evaluation.change_scheme": change(),
    "evaluation.confirm": change(),
    "evaluation.correct": change(),
    "evaluation.create_scheme": change(),
    "evaluation.detail": page(NOBODY, denied=404),  # none seeded
    "evaluation.discard": change(),
    "evaluation.index": page(),
    "evaluation.new_scheme": page(ADMINS),
    "evaluation.run": change(),
    "evaluation.scheme": page(NOBODY, denied=404),  # no scheme 0
    "evaluation.scores": change(),
    "evaluation.subject": page(NOBODY, denied=404),
    # Open to all without sign-in; 503 here because no job worker runs in this test.
    "health.healthz": public(ok=503, signed_in=503),
    "history.changes": page(),
    "history.export": page(),
    "improvement.action": page(),
    "improvement.action_change_request": change(),
    "improvement.action_plan": change(),
    "improvement.action_transition": change(),
    "improvement.actions": page(),
    "improvement.analysis": change(),
    "improvement.assign": change(),
    "improvement.attachment": page(NOBODY, denied=404),  # none seeded
    "improvement.detail": page(),
    "improvement.evidence": change(),
    "improvement.index": page(),
    "improvement.mine": page(),
    "improvement.new": page(),
    "improvement.new_action": page(),
    "improvement.output": change(),
    "improvement.transition": change(),
    "main.index": page(),
    "main.set_language": change(),
    "form_builder.edit": page(AUTHORS),
    "notifications.index": page(),
    "notifications.read": change(),
    "routes.add_delegation": change(),
    "routes.delegations": page(),
    "routes.revoke_delegation": change(),
    "routes.routes": page(holding("admin")),
    "routes.set_route": change(),
    "records.amend": page(named("staff") | MANAGERS, hidden=OUT_OF_SIGHT),
    "records.attachment": page(NOBODY, denied=404),  # none seeded
    "records.copy": page(IN_SIGHT, denied=404),
    "records.delete_draft": change(),
    "records.detail": page(IN_SIGHT, denied=404),
    "records.draft": page(NOBODY, denied=404),  # drafts are their owner's; none seeded
    "records.fill": page(),
    "records.index": page(),
    "records.records": page(),
    "records.retention": page(MANAGERS),
    "records.void": change(),
    "reviews.complaint": page(IN_SIGHT, denied=404),
    "reviews.complaint_nc": change(),
    "reviews.complaint_new": page(),
    "reviews.complaints": page(),
    "reviews.objective": page(),
    "reviews.objective_chart_svg": page(),
    "reviews.objective_edit": page(MANAGERS),
    "reviews.objective_import": change(),
    "reviews.objective_measure": change(),
    "reviews.objective_new": page(MANAGERS),
    "reviews.objective_records": page(),
    "reviews.objective_refresh": change(),
    "reviews.objectives": page(),
    "reviews.query_fields": page(MANAGERS),
    "reviews.query_preview": change(),
    "reviews.review": page(),
    "reviews.review_action": change(),
    "reviews.review_approve": change(),
    "reviews.review_decision": change(),
    "reviews.review_hold": change(),
    "reviews.review_minutes": page(NOBODY, denied=404),  # no minutes before it is held
    "reviews.review_new": page(MANAGERS),
    "reviews.review_notes": change(),
    "reviews.review_prepare": change(),
    "reviews.reviews": page(),
    "reviews.surveys": page(),
    "reviews.trail": page(IN_SIGHT, denied=404),  # a complaint's chain
    "risks.add": change(),
    "risks.change": change(),
    "risks.detail": page(NOBODY, denied=404),  # none seeded
    "risks.export": page(),
    "risks.index": page(),
    "risks.raise_action": change(),
    "risks.residual": change(),
    "risks.settings": page(ADMINS),
    "risks.status": change(),
    "search.index": page(),
    "standards.add": change(),
    "standards.add_category": change(),
    "standards.apply_preset": change(),
    "standards.categories": page(MANAGERS),
    "standards.change": change(),
    "standards.change_category": change(),
    "standards.cite": change(),
    "standards.detail": page(NOBODY, denied=404),  # none seeded
    "standards.export_list": page(),
    "standards.export_table": page(),
    "standards.index": page(),
    "standards.place": change(),
    "standards.placement": page(MANAGERS),
    "standards.remove_category": change(),
    "standards.status": change(),
    "standards.table": page(),
    "standards.uncite": change(),
    "service_items.add": change(),
    "service_items.add_window": change(),
    "service_items.change": change(),
    "service_items.change_window": change(),
    "service_items.detail": page(NOBODY, denied=404),  # none seeded
    "service_items.gaps": page(),
    "service_items.import_file": page(MANAGERS),
    "service_items.index": page(),
    "service_items.set_active": change(),
    "service_items.take_replacement": change(),
    "service_items.window": page(NOBODY, denied=404),  # none seeded
    "service_items.windows": page(),
    "ratings.dashboard": page(),
    "ratings.detail": page(NOBODY, denied=404),  # none seeded
    "ratings.import_file": change(),
    "ratings.import_form": page(MANAGERS),
    "ratings.index": page(),
    "ratings.rectification": page(NOBODY, denied=404),
    "ratings.rectifications": page(),
    "ratings.step": change(),
    "suppliers.add": change(),
    "suppliers.change": change(),
    "suppliers.detail": page(NOBODY, denied=404),  # none seeded
    "suppliers.evaluate": change(),
    "suppliers.export": page(),
    "suppliers.index": page(),
    "suppliers.status": change(),
    "training.add_holder": change(),
    "training.create_competence": change(),
    "training.create_position": change(),
    "training.evaluate": change(),
    "training.export": page(),
    "training.index": page(),
    "training.mark": page(holding("approver")),
    "training.position": page(NOBODY, denied=404),  # no position 0
    "training.position_requirements": change(),
    "training.positions": page(holding("approver", "auditor", "admin")),
    "training.records": page(),
    "training.remove_holder": change(),
    "transfer.import_start": page(ADMINS),
    "transfer.job": page(ADMINS, ok=404),  # no import job 0
    "transfer.original": page(NOBODY, denied=404),
    "transfer.progress": page(ADMINS, ok=404),
    "transfer.push": change(),
    "transfer.run": change(),
    "transfer.status": page(ADMINS),
    "webhooks.add": change(),
    "webhooks.change": change(),
    "webhooks.delete": change(),
    "webhooks.deliveries": page(ADMINS),
    "webhooks.detail": page(ADMINS, ok=404),  # none seeded
    "webhooks.index": page(ADMINS),
    "webhooks.resend": change(),
    "webhooks.send_test": change(),
}


# -- seeding, once -----------------------------------------------------------------------


def seed(users) -> dict[str, str]:
    """Make one object of each kind the URL map names; return the URL values to use."""
    from qms.reviews import feedback, objectives
    from qms.reviews import services as reviews
    from tests.builders_audits import plan, procedure
    from tests.builders_improvement import action_for, raised
    from tests.builders_records import form_in_force, submit

    procedure(users)  # QP-07, in force, owned by the Service Hall
    form_in_force(users)  # RF-01
    record = submit(users)
    audit = plan(users)
    nc = raised(users)
    action = action_for(users, nc)
    complaint = feedback.register_complaint(
        users["staff"], "phone", clock.today() - timedelta(days=1), "Too slow.", "Service Hall"
    )
    objective = objectives.create_objective(
        users["approver"], "Error rate", "‰", 2, "lower", "monthly"
    )
    review = reviews.plan_review(users["approver"], "Q4 review", clock.today(), "approver", [])
    db.session.commit()
    return {
        "code": "QP-07",
        "record": record.number,
        "ref": audit.ref,
        "nc": nc.number,
        "action": action.number,
        "complaint": complaint.number,
        "objective": str(objective.id),
        "review": review.number,
        "year": str(clock.today().year),
        "label": "A",
    }


#: endpoint -> {URL variable: seeded value name, or a literal prefixed with "="}.
#: Variables not named here are looked up by their own name in the seeded values,
#: and otherwise get "0" (an object that does not exist).
ARGS: dict[str, dict[str, str]] = {
    "records.fill": {"code": "=RF-01"},
    "form_builder.edit": {"code": "=RF-01"},
    "records.detail": {"number": "record"},
    "records.amend": {"number": "record"},
    "records.copy": {"number": "record"},
    "records.void": {"number": "record"},
    "api_records.get_record": {"number": "record"},
    "api_feedback.get_complaint": {"number": "complaint"},
    "api_people.get_user": {"username": "=staff"},
    "api_records.amend": {"number": "record"},
    "api_records.void": {"number": "record"},
    "api_records.link": {"number": "record"},
    "reviews.complaint": {"number": "complaint"},
    "reviews.complaint_nc": {"number": "complaint"},
    "reviews.trail": {"kind": "=complaint", "key": "complaint"},
    "audits.report_download": {"fmt": "=pdf"},
    "reviews.review_minutes": {"fmt": "=pdf"},
    "documents.media": {"name": "=missing.png"},
    "main.set_language": {"lang": "=en"},
    "context.add": {"register": "=issues"},
    "context.export": {"register": "=legal"},
    "standards.export_list": {"fmt": "=xlsx"},
    "standards.export_table": {"fmt": "=xlsx"},
}
#: endpoint -> the query string of its GET.
QUERY: dict[str, str] = {
    "api_search.search": "q=check",
    "search.index": "q=check",
    "records.records": "format=csv",
}
#: URL variable "number" by blueprint, where ARGS does not say.
NUMBER_BY_BLUEPRINT = {
    "improvement": "nc",
    "api_nonconformities": "nc",
    "api_reviews": "review",
    "reviews": "review",
    "records": "record",
}


def url_for_rule(rule, values: dict[str, str]) -> str:
    """Fill the rule's variables and return the path to request."""
    wanted = ARGS.get(rule.endpoint, {})
    blueprint = rule.endpoint.partition(".")[0]
    filled = {}
    for name in rule.arguments:
        source = wanted.get(name)
        if source is None and name == "number":
            source = NUMBER_BY_BLUEPRINT.get(blueprint)
        if source is None and name in ("action_id",):
            source = "action"
        if source is None and name == "ident" and blueprint in ("reviews", "api_objectives"):
            source = "objective"
        if source is None:
            source = name
        if source.startswith("="):
            filled[name] = source[1:]
        else:
            filled[name] = values.get(source, "0")
    path = rule.rule
    for name, value in filled.items():
        path = path.replace(f"<{name}>", quote(value, safe="/"))
        for converter in ("int", "path", "string"):
            path = path.replace(f"<{converter}:{name}>", quote(value, safe="/"))
    query = QUERY.get(rule.endpoint)
    return f"{path}?{query}" if query else path


@pytest.fixture(scope="module")
def mapped(database, tmp_path_factory):
    """One app, seeded once, with a signed-in client and a token per test user."""
    instance = tmp_path_factory.mktemp("access-map")
    if PG_URL:
        url = database
    else:
        shutil.copy(database, instance / "qms.sqlite")
        url = f"sqlite:///{instance / 'qms.sqlite'}"
    app = create_app(_config(instance, url))
    with app.app_context():
        GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
    with app.test_request_context():
        users = {}
        for username, (roles, dept) in USERS.items():
            users[username] = create_user(
                username, PASSWORD, roles, dept, full_name=username.title()
            )
        db.session.commit()
        values = seed(users)
        tokens = {name: create_token(user) for name, user in users.items()}
        db.session.commit()
    yield app, values, tokens
    with app.app_context():
        db.session.remove()
        if PG_URL:
            empty_postgres()
        db.engine.dispose()


def endpoints(app):
    """Return each endpoint's rule (the first, when several) except ``static``."""
    rules = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            rules.setdefault(rule.endpoint, rule)
    return rules


def test_every_endpoint_is_in_the_table(mapped):
    app, _values, _tokens = mapped
    missing = sorted(set(endpoints(app)) - set(EXPECTED))
    assert not missing, "endpoints missing from EXPECTED in tests/test_access_map.py: " + (
        ", ".join(missing)
    )
    gone = sorted(set(EXPECTED) - set(endpoints(app)))
    assert not gone, "EXPECTED names endpoints the app no longer has: " + ", ".join(gone)


def get_routes_elsewhere(app, url_rule, path: str) -> bool:
    """Whether a GET of this state-changing endpoint's path reaches another endpoint.

    ``/records/<path:number>`` also matches ``/records/…/void``: that GET is the record
    page's business, checked on its own row.
    """
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(path.partition("?")[0], method="GET")
    except RequestRedirect:
        return True  # to the slash-ended URL of another endpoint
    except HTTPException:
        return False
    return endpoint != url_rule.endpoint


def statuses(app, values, tokens, clients, url_rule) -> dict[str, int]:
    """Request one endpoint as everybody; return {who: status}.

    A state-changing endpoint is asked by GET as everybody (unless that GET belongs to
    another endpoint), and by its own method anonymously (``"anonymous <METHOD>"``).
    """
    path = url_for_rule(url_rule, values)
    methods = url_rule.methods - {"HEAD", "OPTIONS"}
    is_api = url_rule.rule.startswith("/api/")

    def get(who: str) -> int:
        if who == "anonymous":
            return app.test_client().get(path).status_code
        if is_api:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            return app.test_client().get(path, headers=headers).status_code
        return clients[who].get(path).status_code

    got = {}
    if "GET" not in methods:
        if not get_routes_elsewhere(app, url_rule, path):
            got = {who: get(who) for who in ["anonymous", *USERS]}
        method = sorted(methods)[0]
        got[f"anonymous {method}"] = app.test_client().open(path, method=method).status_code
        return got
    return {who: get(who) for who in ["anonymous", *USERS]}


def expected_statuses(app, rule: Rule, url_rule, path: str) -> dict[str, int]:
    """Return {who: status} as ``rule`` says."""
    is_api = url_rule.rule.startswith("/api/")
    signed_out = 401 if is_api else 302  # the API refuses, a page sends to sign in
    methods = url_rule.methods - {"HEAD", "OPTIONS"}
    if rule.kind == "change" or "GET" not in methods:
        want = {}
        if not get_routes_elsewhere(app, url_rule, path):
            want = {"anonymous": 405, **dict.fromkeys(USERS, 405)}  # no state change on GET
        want[f"anonymous {sorted(methods)[0]}"] = signed_out
        return want
    want = {"anonymous": rule.ok if rule.kind == "public" else signed_out}
    for who in USERS:
        if who in rule.hidden:
            want[who] = 404
        else:
            want[who] = rule.ok if who in rule.who else rule.denied
    return want


def signed_in(app) -> dict:
    """Return a test client signed in as each test user (one sign-in each)."""
    clients = {}
    for username in USERS:
        client = app.test_client()
        response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, f"{username} could not sign in"
        clients[username] = client
    return clients


def test_every_endpoint_answers_each_role_as_the_table_says(mapped):
    app, values, tokens = mapped
    clients = signed_in(app)
    wrong = []
    for endpoint, url_rule in sorted(endpoints(app).items()):
        rule = EXPECTED.get(endpoint)
        if rule is None:
            continue  # reported by test_every_endpoint_is_in_the_table
        path = url_for_rule(url_rule, values)
        got = statuses(app, values, tokens, clients, url_rule)
        want = expected_statuses(app, rule, url_rule, path)
        wrong += [
            f"{endpoint} {path} as {who}: {got[who]}, expected {want[who]}"
            for who in want
            if got[who] != want[who]
        ]
    assert not wrong, "\n".join(wrong)

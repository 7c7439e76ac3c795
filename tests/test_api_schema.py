"""A schemathesis scan of the API against its own OpenAPI document, in-process over WSGI.

Each operation of ``/api/v1/openapi.json`` gets a few generated requests as an
administrator (derandomized, so a run is repeatable; no deadline, as the machine's load
is not the API's fault). Every answer must not be a server error, and its body must match
the schema documented for its status — the error schema included, which is what every
refusal sends.
"""

import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
)

from qms import create_app  # noqa: E402
from qms.auth.services import create_token, create_user  # noqa: E402
from qms.extensions import db  # noqa: E402
from qms.gitstore import GitStore  # noqa: E402
from tests.conftest import PASSWORD, PG_URL, _config, empty_postgres  # noqa: E402

MAX_EXAMPLES = 4
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def api_app(database, tmp_path_factory):
    """One app with an administrator, a document, a record form, a record and an NC."""
    instance = tmp_path_factory.mktemp("api-schema")
    if PG_URL:
        url = database
    else:
        shutil.copy(database, instance / "qms.sqlite")
        url = f"sqlite:///{instance / 'qms.sqlite'}"
    app = create_app(_config(instance, url))
    with app.app_context():
        GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
    with app.test_request_context():
        from tests.builders_improvement import raised
        from tests.builders_records import form_in_force, submit
        from tests.conftest import USERS

        users = {
            name: create_user(name, PASSWORD, roles, dept, full_name=name.title())
            for name, (roles, dept) in USERS.items()
        }
        db.session.commit()
        form_in_force(users)
        submit(users)
        raised(users)
        token = create_token(users["admin"])
        db.session.commit()
    yield app, token
    with app.app_context():
        db.session.remove()
        if PG_URL:
            empty_postgres()
        db.engine.dispose()


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def test_the_openapi_document_documents_the_error_body_the_api_sends(api_app):
    app, token = api_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "detail"}
    refused = app.test_client().get("/api/v1/records")  # no token
    assert refused.status_code == 401 and set(refused.get_json()) == {"error", "detail"}


def test_every_operation_answers_without_5xx_and_as_documented(api_app):
    app, token = api_app
    headers = {"Authorization": f"Bearer {token}"}
    failures, seen, statuses = [], set(), set()
    for operation in operations(app):
        seen.add((operation.method, operation.path))

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def scan(case):
            with app.app_context():
                response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.add(response.status_code)

        try:
            scan()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(seen) >= 40, "the scan reached too few operations"
    assert statuses & {200, 201}, "no generated request was accepted"


def test_an_id_beyond_the_integer_columns_is_not_found(api_app):
    app, token = api_app
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/objectives/2147483648", headers=headers).status_code == 404
    assert client.get("/api/v1/objectives/2147483647", headers=headers).status_code == 404

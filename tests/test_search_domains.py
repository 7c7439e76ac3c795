"""Records, nonconformities and actions are found by search as soon as they are written."""

import pytest

from qms import search
from qms.errors import ServiceError
from qms.extensions import db

records = pytest.importorskip("qms.records.services")


def keys(q, **kw):
    return [(hit.type, hit.key) for hit in search.search(q, **kw).items]


FIELDS = [
    {"key": "title", "label": "事项", "type": "text", "required": True},
    {"key": "notes", "label": "Notes", "type": "textarea"},
]


@pytest.fixture
def form(users):
    from tests.builders_records import form_in_force

    return form_in_force(users, "RF-01", FIELDS)


def test_a_submitted_record_is_found_by_its_values(users, form):
    record = records.submit_record(users["staff"], "RF-01", {"title": "窗口受理登记"})
    assert keys("受理", types=["record"]) == [("record", record.number)]
    hit = search.search("受理").items[0]
    assert "<mark>受理</mark>" in str(hit.snippet) and hit.url


def test_an_amended_record_is_found_by_its_new_values_only(users, form):
    record = records.submit_record(users["staff"], "RF-01", {"title": "scales checked"})
    records.amend_record(users["staff"], record.number, {"title": "balances checked"}, "typo")
    assert keys("scales") == []
    assert keys("balances") == [("record", record.number)]


def test_a_refused_record_never_reaches_the_index(users, form):
    with pytest.raises(ServiceError):
        records.submit_record(users["staff"], "RF-01", {"notes": "no title here"})
    db.session.rollback()
    assert keys("no title here") == []


def test_reindex_lists_every_record(users, form, runner):
    records.submit_record(users["staff"], "RF-01", {"title": "one"})
    records.submit_record(users["staff"], "RF-01", {"title": "two"})
    result = runner.invoke(args=["qms", "reindex", "--type", "record"])
    assert "record: 2 indexed" in result.output, result.output


def test_nonconformities_and_actions_are_found(users):
    improvement = pytest.importorskip("qms.improvement.services")
    from tests.builders_improvement import SOON, raised

    nc = raised(users, title="错误表格", description="窗口三受理了作废表格。")
    action = improvement.create_action(
        users["author"], "corrective", "收回作废表格", "author", SOON, nonconformity=nc.number
    )
    # The action has the words in its title, so it ranks first.
    assert keys("作废") == [("action", action.number), ("nonconformity", nc.number)]
    assert keys("受理", types=["nonconformity"]) == [("nonconformity", nc.number)]
    assert keys("收回", types=["action"]) == [("action", action.number)]
    db.session.execute(db.delete(search.services.SearchEntry))
    db.session.commit()
    assert search.reindex(["nonconformity", "action"]) == {"nonconformity": 1, "action": 1}


def test_an_ncs_output_is_found_with_it(users):
    improvement = pytest.importorskip("qms.improvement.services")
    from tests.builders_improvement import raised

    nc = raised(users, title="Wrong licences")
    db.session.commit()
    improvement.set_output(users["staff"], nc, "Business licences JL-0412 to JL-0418", 7)
    db.session.commit()
    assert keys("JL-0412", types=["nonconformity"]) == [("nonconformity", nc.number)]

"""The demo loader: one unit of work, dated in its offices' time zone."""

import re
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from qms import clock, demo
from qms.auth.models import User
from qms.documents import services
from qms.documents.models import Document, Revision, Signature
from qms.extensions import db


def test_a_demo_that_fails_midway_leaves_nothing(ctx, monkeypatch):
    def broken(lang, passwords):
        raise RuntimeError("the activity could not be loaded")

    monkeypatch.setattr("qms.demo.activity.load_activity", broken)
    with pytest.raises(RuntimeError):
        demo.load_demo("en")
    # No users, so `init --demo` loads it again from the start; no documents, no refs.
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert services.store().refs("refs/tags/") == {}
    assert services.store().refs("refs/heads/drafts/") == {}


@pytest.mark.parametrize(("lang", "zone"), [("en", "UTC"), ("zh_Hans", "Asia/Shanghai")])
def test_a_chinese_demo_is_dated_in_beijing_time(ctx, monkeypatch, lang, zone):
    seen = {}

    def activity(lang, passwords):
        seen["zone"], seen["today"] = clock.zone_name(), clock.today()

    monkeypatch.setattr("qms.demo.activity.load_activity", activity)
    demo.load_demo(lang)
    assert seen["today"] == datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    assert seen["zone"] == ("CST" if zone != "UTC" else "UTC")
    assert ctx.config["QMS_TIMEZONE"] == "UTC"  # the installation's own setting is kept


def _commits(repo) -> dict[str, tuple[datetime, list[str]]]:
    """Return main's commits: sha -> (author date, parents)."""
    log = subprocess.run(
        ["git", "--git-dir", str(repo), "log", "--format=%H %aI %P", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    commits = {}
    for line in log:
        sha, when, *parents = line.split()
        commits[sha] = (datetime.fromisoformat(when), parents)
    return commits


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_the_demo_tells_a_year_of_history_in_time_order(ctx, runner, lang):
    from qms.improvement.models import Nonconformity
    from qms.records.models import Record
    from qms.reviews import figures
    from qms.reviews.models import Measurement
    from qms.trail import AuditEvent

    store = services.store()
    demo.load_demo(lang)
    db.session.commit()
    now = datetime.now(UTC)
    year_ago = now - timedelta(days=365)

    # The trail is appended in time order, and so is main's history, over years.
    times = list(db.session.scalars(select(AuditEvent.at).order_by(AuditEvent.id)))
    assert times == sorted(times)
    assert times[0] < year_ago and times[-1] <= now
    # (`init --demo` makes the repository's first commit at demo.founded(); here the
    # fixture made it, today.)
    assert demo.founded(lang) < times[0]
    commits = _commits(store.path)
    root = next(sha for sha, (_when, parents) in commits.items() if not parents)
    for when, parents in commits.values():
        assert all(commits[p][0] <= when for p in parents if p != root)
    assert min(when for when, _parents in commits.values()) < year_ago
    # Every revision was drafted, reviewed and approved before it came into force.
    for rev in db.session.scalars(select(Revision).where(Revision.released_at.is_not(None))):
        signed = {s.meaning: s.signed_at for s in rev.signatures}
        assert rev.created_at < rev.submitted_at < signed["approved"] < rev.released_at
        assert "reviewed" not in signed or signed["reviewed"] < signed["approved"]
    newest = max(d.effective_date for d in db.session.scalars(select(Document)) if d.effective_date)
    assert newest < clock.today()

    # Records were filled over the year, not all at loading time.
    filled = list(db.session.scalars(select(Record.submitted_at)))
    assert len(filled) >= 12 and min(filled) < now - timedelta(days=200)
    # An NC takes weeks from its report to its closure.
    closure = figures.nc_closure_days(clock.today() - timedelta(days=365), clock.today())
    assert closure.value is not None and 14 <= closure.value <= 120
    closed = db.session.scalars(select(Nonconformity).where(Nonconformity.closed_at.is_not(None)))
    assert all(nc.raised_at < nc.closed_at for nc in closed)
    # Audits were held over the year: most of this year's programme is carried out.
    completion = figures.audit_completion(clock.today().year)
    if clock.today().timetuple().tm_yday > 200:  # two audits before the recent one
        assert completion.value is not None and 50 <= completion.value <= 100
    # Objectives are measured month by month, each after its period.
    measured = list(db.session.scalars(select(Measurement)))
    assert len(measured) >= 20
    assert len({m.entered_at.date() for m in measured}) >= 10

    # The demo verifies clean and its database agrees with its repository.
    verify = runner.invoke(args=["qms", "verify"])
    assert verify.exit_code == 0, verify.output
    check = runner.invoke(args=["qms", "check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(
    ("lang", "mrep", "comment"),
    [
        ("zh_Hans", "王芳", "同意发布。"),
        ("zh_Hant", "王芳", demo.to_traditional("同意发布。")),
        ("en", "Mei Rep", None),
    ],
)
def test_a_chinese_demo_has_chinese_names_and_signature_comments(
    ctx, monkeypatch, lang, mrep, comment
):
    monkeypatch.setattr("qms.demo.activity.load_activity", lambda lang, passwords: None)
    demo.load_demo(lang)

    names = {u.username: u.display_name for u in db.session.scalars(select(User))}
    assert names["mrep"] == mrep
    comments = {s.comment for s in db.session.scalars(select(Signature))}
    if comment:
        assert comment in comments
        assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names.values())
        assert not any(re.search(r"[A-Za-z]", c or "") for c in comments)
    else:
        assert "Approved for release." in comments

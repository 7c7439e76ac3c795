"""The demo loader: one unit of work, dated in its offices' time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from qms import clock, demo
from qms.auth.models import User
from qms.documents import services
from qms.documents.models import Document
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

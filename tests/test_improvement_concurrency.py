"""Concurrent creation by real processes on the real database gives distinct numbers."""

import subprocess
import sys
import textwrap
from datetime import date

from sqlalchemy import select

from qms.extensions import db
from qms.improvement.models import Action, Nonconformity

WORKER = textwrap.dedent(
    """
    import os
    import sys
    import time
    from datetime import date, timedelta
    from qms import create_app
    from qms.auth.models import User
    from qms.extensions import db
    from qms.improvement import services

    instance, url, worker, count, go = sys.argv[1:6]
    app = create_app({
        "QMS_INSTANCE": instance, "SQLALCHEMY_DATABASE_URI": url,
        "QMS_DOCUMENTS_REPO": instance + "/documents.git", "SECRET_KEY": "x",
    })
    with app.test_request_context():
        staff = db.session.scalar(db.select(User).where(User.username == "staff"))
        # Start together: importing the app takes longer than the work itself.
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.01)
        for n in range(int(count)):
            nc = services.raise_nc(
                staff, f"Worker {worker} report {n}", "Seen at the counter.", "staff_report"
            )
            action = services.create_action(
                staff, "improvement", f"Worker {worker} idea {n}", "staff",
                date.today() + timedelta(days=7), origin="suggestion",
            )
            print(nc.number, action.number, flush=True)
    """
)


def test_processes_raising_at_once_get_distinct_numbers_and_lose_none(app, users, tmp_path):
    workers, each = 3, 4
    instance = app.config["QMS_INSTANCE"]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, instance, url, str(w), str(each), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    printed = [line.split() for out, _err in results for line in out.splitlines()]
    year = date.today().year
    total = workers * each
    expected_nc = {f"NC-{year}-{n:04d}" for n in range(1, total + 1)}
    expected_act = {f"ACT-{year}-{n:04d}" for n in range(1, total + 1)}
    assert {nc for nc, _a in printed} == expected_nc
    assert {a for _nc, a in printed} == expected_act
    db.session.expire_all()
    stored = db.session.scalars(select(Nonconformity.number)).all()
    assert sorted(stored) == sorted(expected_nc)
    assert len(db.session.scalars(select(Action.number)).all()) == total
    titles = set(db.session.scalars(select(Nonconformity.title)))
    assert titles == {f"Worker {w} report {n}" for w in range(workers) for n in range(each)}
